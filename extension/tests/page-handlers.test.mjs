import { test } from "node:test";
import assert from "node:assert/strict";

import { Correlator } from "../background/correlator.js";
import {
  BY_SEND_MESSAGE,
  DEFAULT_TIMEOUT_MS,
  GRACE_MS,
  MAX_TIMEOUT_MS,
  dispatch,
  hostForwarder,
  pageHandlers,
  servePort,
  waitFor,
} from "../background/page-handlers.js";
import { FakeClock, FakePort, settle } from "./support/fakes.mjs";

/** The background's host side with fakes: the frames it sends, and a way to answer them. */
function hostSide({ sendThrows = null } = {}) {
  const clock = new FakeClock();
  const correlator = new Correlator({ prefix: "bg", setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  const sent = [];
  const send = (frame) => {
    if (sendThrows) throw new Error(sendThrows);
    sent.push(frame);
  };
  const forward = hostForwarder({ correlator, send });
  const answer = (id, result = {}) => correlator.settle({ type: "reply", id, ok: true, result });
  return { clock, correlator, sent, forward, answer };
}

function table(overrides = {}) {
  const calls = [];
  const record = (name, value) => (...args) => {
    calls.push([name, ...args]);
    return value;
  };
  const handlers = pageHandlers({
    forward: record("forward", Promise.resolve({ ok: true, result: "forwarded" })),
    readPage: record("readPage", Promise.resolve({ ok: true, result: { url: "https://example.com/" } })),
    openChat: record("openChat", Promise.resolve({ ok: true, configured: true, opened: true })),
    closeChat: record("closeChat", Promise.resolve({ ok: true })),
    reconnect: record("reconnect"),
    ...overrides,
  });
  return { handlers, calls };
}

test("a page's request goes to the host with the page's own id, and its reply comes back by it", async () => {
  const host = hostSide();
  const reply = host.forward({ id: "pabc-1", verb: "tool.call", fields: { server: "s", tool: "t", arguments: {} } });
  assert.deepEqual(host.sent, [{ server: "s", tool: "t", arguments: {}, type: "tool.call", id: "pabc-1" }]);
  host.answer("pabc-1", { content: [] });
  assert.deepEqual(await reply, { type: "reply", id: "pabc-1", ok: true, result: { content: [] } });
});

test("an id already in flight is refused before it reaches the host, whichever page holds it", async () => {
  const host = hostSide();
  const first = host.forward({ id: "p1-1", verb: "ping", fields: {} });
  const second = await host.forward({ id: "p1-1", verb: "status.get", fields: {} });
  assert.equal(second.ok, false);
  assert.equal(second.error.code, "duplicate_id");
  assert.match(second.error.message, /"p1-1" is still in flight/);
  assert.equal(host.sent.length, 1, "only the first went to the host");
  host.answer("p1-1");
  assert.equal((await first).ok, true, "the first still gets its own reply");
  // Once answered, the id is free again.
  const again = host.forward({ id: "p1-1", verb: "ping", fields: {} });
  assert.equal(host.sent.length, 2);
  host.answer("p1-1");
  assert.equal((await again).ok, true);
});

test("the background's own ids step around any a page has in flight", async () => {
  const host = hostSide();
  host.forward({ id: "bg1", verb: "ping", fields: {} });
  host.forward({ id: "bg2", verb: "ping", fields: {} });
  assert.equal(host.correlator.freshId(), "bg3");
});

test("a request times out a little after the page's own time, and a late reply is dropped", async () => {
  const host = hostSide();
  const reply = host.forward({ id: "p1-1", verb: "ping", fields: {}, timeoutMs: 1000 });
  host.clock.advance(1000);
  let done = false;
  reply.then(() => (done = true));
  await settle();
  assert.equal(done, false, "the page's own timer fires first; the background waits its grace");
  host.clock.advance(GRACE_MS);
  const answer = await reply;
  assert.equal(answer.error.code, "timeout");
  assert.equal(host.answer("p1-1"), false, "the late reply finds nobody");
});

test("timeouts: the default when none is given, capped when too long", () => {
  assert.equal(waitFor(undefined), DEFAULT_TIMEOUT_MS + GRACE_MS);
  assert.equal(waitFor(-5), DEFAULT_TIMEOUT_MS + GRACE_MS);
  assert.equal(waitFor(Infinity), DEFAULT_TIMEOUT_MS + GRACE_MS);
  assert.equal(waitFor(10 * MAX_TIMEOUT_MS), MAX_TIMEOUT_MS + GRACE_MS);
  assert.equal(waitFor(130_000), 130_000 + GRACE_MS);
});

test("no host, or a host that stops: host_unavailable with the reason, and the id is free again", async () => {
  const none = hostSide({ sendThrows: "the host is not running" });
  const refused = await none.forward({ id: "p1-1", verb: "ping", fields: {} });
  assert.deepEqual(refused.error, { code: "host_unavailable", message: "the host is not running" });
  assert.equal(none.correlator.has("p1-1"), false);

  const host = hostSide();
  const pending = host.forward({ id: "p1-2", verb: "chat.send", fields: { text: "hi" } });
  host.correlator.failAll("the host stopped: Native host has exited.");
  assert.deepEqual((await pending).error, { code: "host_unavailable", message: "the host stopped: Native host has exited." });
});

test("a request the host could not take is answered by the background, never sent", async () => {
  const host = hostSide();
  const cases = [
    [{ verb: "ping", fields: {} }, "missing_id"],
    [{ id: "", verb: "ping", fields: {} }, "missing_id"],
    [{ id: 7, verb: "ping", fields: {} }, "missing_id"],
    [{ id: "x".repeat(201), verb: "ping", fields: {} }, "missing_id"],
    [{ id: "p1-1", fields: {} }, "missing_type"],
    [{ id: "p1-1", verb: "", fields: {} }, "missing_type"],
    [{ id: "p1-1", verb: "ping", fields: [] }, "invalid_arguments"],
    [{ id: "p1-1", verb: "ping", fields: null }, "invalid_arguments"],
    [{ id: "p1-1", verb: "ping", fields: { id: "other" } }, "invalid_arguments"],
    [{ id: "p1-1", verb: "ping", fields: { type: "chat.delete" } }, "invalid_arguments"],
  ];
  for (const [message, code] of cases) {
    const reply = await host.forward(message);
    assert.equal(reply.ok, false, JSON.stringify(message));
    assert.equal(reply.error.code, code, JSON.stringify(message));
  }
  assert.deepEqual(host.sent, []);
  host.forward({ id: "x".repeat(200), verb: "ping" });
  assert.equal(host.sent.length, 1, "200 characters is still an id, and no fields is none");
});

test("the table: host verbs through `request`, the background's own business by its own type", async () => {
  const { handlers, calls } = table();
  assert.deepEqual(Object.keys(handlers).sort(), ["chat.open", "page.context", "panel.close", "reconnect", "request"]);
  assert.equal(Object.isFrozen(handlers), true);

  const request = { type: "request", id: "p1-1", verb: "ping", fields: {} };
  assert.deepEqual(await dispatch(handlers, request), { ok: true, result: "forwarded" });
  assert.deepEqual(calls.pop(), ["forward", request]);

  assert.equal((await dispatch(handlers, { type: "page.context", id: "p1-2", tabId: 42 })).result.url, "https://example.com/");
  assert.deepEqual(calls.pop(), ["readPage", 42]);

  assert.deepEqual(await dispatch(handlers, { type: "panel.close", tabId: 5 }), { ok: true });
  assert.deepEqual(calls.pop(), ["closeChat", 5]);

  assert.deepEqual(await dispatch(handlers, { type: "reconnect" }), { ok: true, result: null });
  assert.deepEqual(calls.pop(), ["reconnect"]);
});

test("a host verb sent as a message type is not a back door: only `request` reaches the host", async () => {
  const { handlers, calls } = table();
  for (const type of ["tool.call", "chat.approve", "hello", "__proto__", "constructor", "toString", undefined]) {
    const reply = await dispatch(handlers, { type, id: "p1-1", fields: {} });
    assert.equal(reply.error.code, "unknown_verb", String(type));
  }
  assert.equal((await dispatch(handlers, null)).error.code, "unknown_verb");
  assert.equal((await dispatch(handlers, "ping")).error.code, "unknown_verb");
  assert.deepEqual(calls, []);
});

test("chat.open runs in the same task as the message, so the person's gesture is still there", async () => {
  const { handlers, calls } = table();
  const answer = dispatch(handlers, { type: "chat.open", tabId: 9 });
  assert.deepEqual(calls, [["openChat", 9]], "called before anything was awaited");
  assert.deepEqual(await answer, { ok: true, configured: true, opened: true });
  assert.deepEqual([...BY_SEND_MESSAGE], ["chat.open"], "the only type that comes by sendMessage");
});

test("a handler that throws is answered as internal, not thrown", async () => {
  const { handlers } = table({
    readPage: () => {
      throw new Error("No tab with id: 3.");
    },
  });
  assert.deepEqual(await dispatch(handlers, { type: "page.context", tabId: 3 }), {
    ok: false,
    error: { code: "internal", message: "No tab with id: 3." },
  });
});

test("a page's port: every message through the table, the answer back by the message's id", async () => {
  const host = hostSide();
  const closed = [];
  const handlers = pageHandlers({
    forward: host.forward,
    readPage: async (tabId) => ({ ok: true, result: { tabId } }),
    openChat: async () => ({ ok: true }),
    closeChat: async (tabId) => closed.push(tabId) && { ok: true },
    reconnect: () => {},
  });
  const port = new FakePort();
  servePort(handlers, port);

  port.deliver({ type: "request", id: "pq-1", verb: "chat.list", fields: {}, timeoutMs: 5000 });
  assert.deepEqual(host.sent, [{ type: "chat.list", id: "pq-1" }]);
  host.answer("pq-1", { conversations: [] });
  port.deliver({ type: "page.context", id: "pq-2", tabId: 4 });
  port.deliver({ type: "panel.close", tabId: 4 }); // no id: done, not answered
  port.deliver({ type: "no.such", id: "pq-3" });
  await settle();
  // Answers go back as they are ready, not in the order asked.
  assert.deepEqual(port.posted.sort((a, b) => a.id.localeCompare(b.id)), [
    { type: "reply", id: "pq-1", reply: { type: "reply", id: "pq-1", ok: true, result: { conversations: [] } } },
    { type: "reply", id: "pq-2", reply: { ok: true, result: { tabId: 4 } } },
    { type: "reply", id: "pq-3", reply: { ok: false, error: { code: "unknown_verb", message: 'the background has no message type "no.such"' } } },
  ]);
  assert.deepEqual(closed, [4]);

  // The page goes away with a request out: the late answer is dropped quietly.
  port.deliver({ type: "request", id: "pq-4", verb: "ping", fields: {} });
  port.disconnect();
  host.answer("pq-4");
  await settle();
  assert.equal(port.posted.length, 3);
});
