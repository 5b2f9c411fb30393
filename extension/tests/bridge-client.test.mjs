import { test } from "node:test";
import assert from "node:assert/strict";

import { BridgeClient, RECONNECT_CAP_MS, RECONNECT_FIRST_MS } from "../shared/bridge-client.js";
import { FakeClock, FakeRuntime, settle } from "./support/fakes.mjs";

function makeClient(options = {}) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime();
  let n = 0;
  const client = new BridgeClient({
    runtime,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    random: () => ((n++ % 36) + 0.5) / 36,
    ...options,
  });
  return { clock, runtime, client };
}

/** The background's side of the current port: answer a request the page posted. */
function answer(runtime, message, reply) {
  runtime.port.deliver({ type: "reply", id: message.id, reply });
}

test("a request goes out with an id the page chose, and resolves with the reply for that id", async () => {
  const { runtime, client } = makeClient();
  assert.equal(runtime.ports.length, 1);
  const call = client.start("tool.call", { server: "s", tool: "t", arguments: {} }, { timeoutMs: 130_000 });
  assert.match(call.id, /^p[0-9a-z]{8}-1$/);
  const [sent] = runtime.port.posted;
  assert.deepEqual(sent, {
    type: "request",
    verb: "tool.call",
    fields: { server: "s", tool: "t", arguments: {} },
    timeoutMs: 130_000,
    id: call.id,
  });
  runtime.port.deliver({ type: "reply", id: "someone-else", reply: { ok: true, result: "not ours" } });
  answer(runtime, sent, { type: "reply", id: call.id, ok: true, result: { content: [] } });
  assert.deepEqual(await call.reply, { type: "reply", id: call.id, ok: true, result: { content: [] } });
});

test("ids are unique within a page and apart from another page's", () => {
  const first = makeClient({ random: () => 0.1 }).client;
  const second = makeClient({ random: () => 0.9 }).client;
  const ids = [first.start("ping").id, first.start("ping").id, second.start("ping").id];
  assert.equal(new Set(ids).size, 3);
  assert.notEqual(ids[0].split("-")[0], ids[2].split("-")[0]);
});

test("every request times out, at 30 s unless the call says otherwise, and a late reply is ignored", async () => {
  const { clock, runtime, client } = makeClient();
  const quick = client.request("ping", {}, 5000);
  const usual = client.request("status.get");
  clock.advance(5000);
  assert.deepEqual(await quick, { ok: false, error: { code: "timeout", message: "no answer within 5 s" } });
  clock.advance(24_999);
  let done = false;
  usual.then(() => (done = true));
  await settle();
  assert.equal(done, false);
  clock.advance(1);
  assert.equal((await usual).error.code, "timeout");
  answer(runtime, runtime.port.posted[0], { ok: true });
  assert.equal(client.pending.size, 0);
  assert.deepEqual(clock.waiting, [], "no timer left behind");
});

test("a dropped port fails what was out, says so, and reconnects with a capped backoff", async () => {
  const { clock, runtime, client } = makeClient();
  const states = [];
  client.onState((state) => states.push(state));
  runtime.port.deliver({ type: "state", host: "connected", hostError: null, status: { servers: [{ id: "a" }] }, questions: [] });
  const out = client.request("chat.send", { text: "hi" }, 600_000);

  runtime.drop("The message port closed before a response was received.");
  const failed = await out;
  assert.equal(failed.error.code, "disconnected");
  assert.match(failed.error.message, /dropped: The message port closed before a response was received\.; the request's outcome is unknown/);
  const shown = states.at(-1);
  assert.equal(shown.host, "connecting", "nothing shown is live without the background");
  assert.equal(shown.background, "disconnected");
  assert.match(shown.hostError, /The message port closed/);
  assert.deepEqual(shown.status, { servers: [{ id: "a" }] }, "the last status stays, for the page to show as not live");

  // Meanwhile a request fails at once rather than hanging.
  assert.equal((await client.request("ping")).error.code, "host_unavailable");

  // Retries: each refused connect waits twice as long, up to the cap.
  runtime.refuse = "Could not establish connection. Receiving end does not exist.";
  const delays = [];
  for (let i = 0; i < 9; i += 1) {
    delays.push(clock.waiting[0]);
    clock.advance(clock.waiting[0]);
  }
  assert.equal(delays[0], RECONNECT_FIRST_MS);
  assert.deepEqual(delays.slice(0, 4), [100, 200, 400, 800]);
  assert.equal(Math.max(...delays), RECONNECT_CAP_MS);
  assert.equal(runtime.ports.length, 1, "refused connects made no port");
  assert.match(states.at(-1).hostError, /Receiving end does not exist/);

  // The background is back: a new port, the listeners hear its state, and requests go out on it.
  runtime.refuse = null;
  clock.advance(clock.waiting[0]);
  assert.equal(runtime.ports.length, 2);
  runtime.port.deliver({ type: "state", host: "connected", hostError: null, status: { servers: [] }, questions: [] });
  assert.equal(states.at(-1).host, "connected");
  assert.equal(states.at(-1).background, undefined);
  const again = client.request("ping");
  answer(runtime, runtime.port.posted[0], { ok: true, result: { pong: true } });
  assert.equal((await again).ok, true);

  // Having heard from the background, the next drop starts from the first delay again.
  runtime.drop();
  assert.equal(clock.waiting[0], RECONNECT_FIRST_MS);
  assert.equal(states.at(-1).hostError, "the connection to the extension's background dropped");
});

test("a message from an old port after reconnecting is ignored", async () => {
  const { clock, runtime, client } = makeClient();
  const old = runtime.port;
  runtime.drop();
  clock.advance(RECONNECT_FIRST_MS);
  const events = [];
  client.onEvent("chat.delta", (event) => events.push(event));
  old.open = true;
  old.deliver({ type: "event", event: { type: "chat.delta", conversation_id: "c", text: "stale" } });
  runtime.port.deliver({ type: "event", event: { type: "chat.delta", conversation_id: "c", text: "fresh" } });
  assert.deepEqual(events.map((e) => e.text), ["fresh"]);
});

test("events reach the listeners that want them, by type or by predicate, until they unsubscribe", () => {
  const { runtime, client } = makeClient();
  const deltas = [];
  const mine = [];
  const stopDeltas = client.onEvent("chat.delta", (event) => deltas.push(event.text));
  client.onEvent((event) => event.conversation_id === "mine", (event) => mine.push(event.type));
  const event = (e) => runtime.port.deliver({ type: "event", event: e });
  event({ type: "chat.delta", conversation_id: "mine", text: "a" });
  event({ type: "chat.tool", conversation_id: "mine", call_id: "c1", status: "running", tool: "t" });
  event({ type: "chat.delta", conversation_id: "theirs", text: "b" });
  stopDeltas();
  event({ type: "chat.delta", conversation_id: "mine", text: "c" });
  assert.deepEqual(deltas, ["a", "b"]);
  assert.deepEqual(mine, ["chat.delta", "chat.tool", "chat.delta"]);
});

test("state listeners hear every state; the last one is kept", () => {
  const { runtime, client } = makeClient();
  const seen = [];
  const stop = client.onState((state) => seen.push(state.host));
  runtime.port.deliver({ type: "state", host: "connecting" });
  runtime.port.deliver({ type: "state", host: "connected" });
  stop();
  runtime.port.deliver({ type: "state", host: "missing" });
  assert.deepEqual(seen, ["connecting", "connected"]);
  assert.equal(client.state.host, "missing");
});

test("the background's own messages: call() is answered by id, post() and reconnect() are not", async () => {
  const { runtime, client } = makeClient();
  const context = client.call("page.context", { tabId: 7 });
  assert.equal(client.post("panel.close", { tabId: 7 }), true);
  assert.equal(client.reconnect(), true);
  const [asked, closed, retry] = runtime.port.posted;
  assert.deepEqual(asked, { type: "page.context", tabId: 7, id: asked.id });
  assert.deepEqual(closed, { type: "panel.close", tabId: 7 });
  assert.deepEqual(retry, { type: "reconnect" });
  answer(runtime, asked, { ok: true, result: { url: "https://example.com/" } });
  assert.equal((await context).result.url, "https://example.com/");
});

test("cancelTool names the tool.call by the id it went with", async () => {
  const { runtime, client } = makeClient();
  const call = client.start("tool.call", { server: "s", tool: "slow", arguments: {} });
  const cancel = client.cancelTool(call.id);
  const [callMessage, cancelMessage] = runtime.port.posted;
  assert.deepEqual(cancelMessage.fields, { call_id: callMessage.id });
  assert.equal(cancelMessage.verb, "tool.cancel");
  answer(runtime, callMessage, { type: "reply", id: callMessage.id, ok: false, error: { code: "cancelled", message: "the call was cancelled" } });
  answer(runtime, cancelMessage, { type: "reply", id: cancelMessage.id, ok: true, result: { cancelled: true } });
  assert.equal((await call.reply).error.code, "cancelled");
  assert.equal((await cancel).result.cancelled, true);
});

test("a port that throws on post fails that request as disconnected", async () => {
  const { runtime, client } = makeClient();
  runtime.port.open = false; // gone, but onDisconnect not heard yet
  const reply = await client.request("ping");
  assert.equal(reply.error.code, "disconnected");
  assert.equal(client.post("panel.close", { tabId: 1 }), false);
  assert.equal(client.pending.size, 0);
});

test("close() stops reconnecting and resolves what is out", async () => {
  const { clock, runtime, client } = makeClient();
  const out = client.request("ping");
  client.close();
  assert.equal((await out).error.code, "disconnected");
  clock.advance(60_000);
  assert.equal(runtime.ports.length, 1);
  assert.equal(runtime.ports[0].open, false);
});

test("a client whose first connect is refused keeps trying, and works once the background answers", async () => {
  const clock = new FakeClock();
  const runtime = new FakeRuntime();
  runtime.refuse = "Extension context invalidated.";
  const client = new BridgeClient({ runtime, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  assert.equal(client.state.background, "disconnected");
  runtime.refuse = null;
  clock.advance(RECONNECT_FIRST_MS);
  assert.equal(runtime.ports.length, 1);
  const reply = client.request("ping");
  answer(runtime, runtime.port.posted[0], { ok: true });
  assert.equal((await reply).ok, true);
});
