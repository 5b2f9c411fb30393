import { test } from "node:test";
import assert from "node:assert/strict";

import { Backoff } from "../background/backoff.js";
import { ChunkJoiner } from "../background/chunks.js";
import { Correlator } from "../background/correlator.js";

test("chunks join back into the message, across interleaved streams", () => {
  const joiner = new ChunkJoiner();
  const text = JSON.stringify({ type: "reply", id: "1", ok: true, result: "é".repeat(10) });
  const cut = [text.slice(0, 7), text.slice(7, 20), text.slice(20)];
  assert.equal(joiner.accept({ type: "chunk", stream: "s0", seq: 0, last: false, data: cut[0] }), null);
  assert.equal(joiner.accept({ type: "chunk", stream: "s1", seq: 0, last: true, data: '{"type":"x"}' }).type, "x");
  assert.equal(joiner.accept({ type: "chunk", stream: "s0", seq: 1, last: false, data: cut[1] }), null);
  assert.deepEqual(joiner.accept({ type: "chunk", stream: "s0", seq: 2, last: true, data: cut[2] }), JSON.parse(text));
  assert.equal(joiner.pending, 0);
});

test("frames that are not chunks pass straight through", () => {
  const status = { type: "status", servers: [] };
  assert.equal(new ChunkJoiner().accept(status), status);
});

test("a chunk out of order is refused and its stream dropped", () => {
  const joiner = new ChunkJoiner();
  joiner.accept({ type: "chunk", stream: "s0", seq: 0, last: false, data: "{" });
  assert.throws(() => joiner.accept({ type: "chunk", stream: "s0", seq: 2, last: true, data: "}" }), /out of order/);
  assert.equal(joiner.pending, 0);
  assert.throws(() => joiner.accept({ type: "chunk", stream: 3 }), /malformed/);
});

test("backoff grows, is capped, jitters within [d/2, d], and resets", () => {
  const low = new Backoff({ base: 500, cap: 30_000, random: () => 0 });
  const high = new Backoff({ base: 500, cap: 30_000, random: () => 1 });
  const lows = Array.from({ length: 10 }, () => low.next());
  const highs = Array.from({ length: 10 }, () => high.next());
  assert.deepEqual(highs.slice(0, 4), [500, 1000, 2000, 4000]);
  assert.equal(Math.max(...highs), 30_000);
  lows.forEach((delay, i) => assert.equal(delay, highs[i] / 2));
  high.reset();
  assert.equal(high.next(), 500);
});

test("the correlator resolves replies by id, times out, and ignores late replies", async () => {
  const timers = [];
  const correlator = new Correlator({ setTimer: (fn) => timers.push(fn) && timers.length, clearTimer: () => {} });
  const [first, firstReply] = correlator.open(1000);
  const [second, secondReply] = correlator.open(1000);
  assert.notEqual(first, second);
  assert.equal(correlator.settle({ id: second, ok: true }), true);
  assert.deepEqual(await secondReply, { id: second, ok: true });
  timers[0]();
  await assert.rejects(firstReply, /no reply from the host within 1 s/);
  assert.equal(correlator.settle({ id: first, ok: true }), false, "a late reply is ignored");
});

test("failAll rejects every request in flight with the reason", async () => {
  const correlator = new Correlator({ setTimer: () => 0, clearTimer: () => {} });
  const [, reply] = correlator.open(1000);
  correlator.failAll("the host stopped: Native host has exited.");
  await assert.rejects(reply, /Native host has exited/);
});

test("the correlator takes the caller's id, refuses one in flight, and codes its failures", async () => {
  const timers = [];
  const correlator = new Correlator({ prefix: "bg", setTimer: (fn) => timers.push(fn) && timers.length, clearTimer: () => {} });
  const [id, reply] = correlator.open(1000, "pabc-1");
  assert.equal(id, "pabc-1");
  assert.equal(correlator.has("pabc-1"), true);
  assert.throws(() => correlator.open(1000, "pabc-1"), (error) => error.code === "duplicate_id" && /still in flight/.test(error.message));
  timers[0]();
  await assert.rejects(reply, (error) => error.code === "timeout");
  assert.equal(correlator.has("pabc-1"), false, "a timed-out id is free again");
  const [, lost] = correlator.open(1000, "pabc-2");
  correlator.failAll("the host stopped");
  await assert.rejects(lost, (error) => error.code === "host_unavailable");
});
