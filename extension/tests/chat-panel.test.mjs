import { test } from "node:test";
import assert from "node:assert/strict";

import { boundTab, chatPath, closeChat, isOwnEvent, openChat, unreadablePage } from "../shared/chat-panel.js";

/** A stand-in for chrome.sidePanel that records calls and answers when told to. */
function fakeSidePanel({ openError, setError } = {}) {
  const calls = [];
  const pending = [];
  const answer = (name, error) =>
    new Promise((resolve, reject) => pending.push(() => (error ? reject(new Error(error)) : resolve())));
  return {
    calls,
    release: () => pending.splice(0).forEach((go) => go()),
    setOptions(options) {
      calls.push(["setOptions", options]);
      return answer("setOptions", setError);
    },
    open(options) {
      calls.push(["open", options]);
      return answer("open", openError);
    },
  };
}

test("the panel's path names its tab, and the panel reads it back", () => {
  assert.equal(chatPath(42), "panel/panel.html?tab=42");
  assert.equal(boundTab(new URL(`chrome-extension://x/${chatPath(42)}`).search), 42);
  for (const search of ["", "?tab=", "?tab=abc", "?tab=-1", "?tab=1.5", "?tab=1e3", "?tab= 7", "?other=3"]) {
    assert.equal(boundTab(search), null, search);
  }
});

test("openChat starts setOptions and open in the same task, setOptions first: no await spends the gesture", async () => {
  const panel = fakeSidePanel();
  const result = openChat(panel, 7);
  // Neither call has been answered yet, and both have been made.
  assert.deepEqual(panel.calls, [
    ["setOptions", { tabId: 7, path: "panel/panel.html?tab=7", enabled: true }],
    ["open", { tabId: 7 }],
  ]);
  panel.release();
  assert.deepEqual(await result, { ok: true, configured: true, opened: true });
});

test("a refused open (no gesture) is reported, not thrown; the options are still set", async () => {
  const panel = fakeSidePanel({ openError: "sidePanel.open() may only be called in response to a user gesture." });
  const result = openChat(panel, 3);
  panel.release();
  const outcome = await result;
  assert.equal(outcome.ok, false);
  assert.equal(outcome.configured, true);
  assert.equal(outcome.opened, false);
  assert.match(outcome.error, /user gesture/);
});

test("an API that throws synchronously is reported too, and a missing tab opens nothing", async () => {
  const throwing = {
    calls: 0,
    setOptions() {
      this.calls += 1;
      throw new Error("No tab with id: 9.");
    },
    open() {
      this.calls += 1;
      return Promise.resolve();
    },
  };
  const outcome = await openChat(throwing, 9);
  assert.equal(throwing.calls, 2);
  assert.deepEqual(outcome, { ok: false, configured: false, opened: true, error: "No tab with id: 9." });
  const none = fakeSidePanel();
  assert.equal((await openChat(none, undefined)).ok, false);
  assert.equal((await openChat(none, "7")).ok, false);
  assert.deepEqual(none.calls, []);
});

test("closeChat disables that tab's panel only", async () => {
  const panel = fakeSidePanel();
  const closing = closeChat(panel, 5);
  panel.release();
  assert.deepEqual(await closing, { ok: true });
  assert.deepEqual(panel.calls, [["setOptions", { tabId: 5, enabled: false }]]);
  assert.equal((await closeChat(panel, null)).ok, false);
});

test("a panel takes only its own conversation's events, and none before it has one", () => {
  const delta = { type: "chat.delta", conversation_id: "a", text: "hi" };
  assert.equal(isOwnEvent(delta, "a"), true);
  assert.equal(isOwnEvent({ ...delta, type: "chat.tool" }, "a"), true);
  assert.equal(isOwnEvent(delta, "b"), false, "another tab's conversation");
  assert.equal(isOwnEvent(delta, null), false, "no conversation yet: adopt nothing");
  assert.equal(isOwnEvent(delta, ""), false);
  assert.equal(isOwnEvent({ type: "chat.delta", text: "no id" }, "a"), false);
  assert.equal(isOwnEvent({ type: "status", conversation_id: "a" }, "a"), false);
  assert.equal(isOwnEvent(null, "a"), false);
  assert.equal(isOwnEvent({ type: "chat.delta", conversation_id: undefined }, undefined), false);
});

test("an unreadable page is explained with what to do", () => {
  const words = unreadablePage("Cannot access contents of the page.");
  assert.match(words, /press Alt\+Shift\+K on this page to let the chat read it/i);
  assert.match(words, /\(Cannot access contents of the page\)/);
  assert.doesNotMatch(unreadablePage(), /\(/);
});
