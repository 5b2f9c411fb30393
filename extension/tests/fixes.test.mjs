// Every error a person can meet comes with the action that fixes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fixesFor, INSTALL_COMMAND, serverFix, waitSeconds } from "../shared/fixes.js";

const kinds = (error, options) => fixesFor(error, options).map((fix) => fix.kind);

test("needs sign-in: Connect for the server", () => {
  assert.deepEqual(fixesFor({ code: "needs_auth", message: "sign in" }, { server: "notion" }), [{ kind: "connect", label: "Connect", server: "notion" }]);
});

test("host missing: the install command and a retry", () => {
  const fixes = fixesFor({ code: "host_unavailable", message: "Specified native messaging host not found." });
  assert.deepEqual(fixes.map((f) => f.kind), ["install", "reconnect"]);
  assert.equal(fixes[0].command, INSTALL_COMMAND);
});

test("server down: retry now; rate limited: retry when the wait is over", () => {
  assert.deepEqual(kinds({ code: "not_connected", message: "SQLite is not connected" }, { server: "sqlite" }), ["reconnect-server", "retry"]);
  const limited = fixesFor({ code: "rate_limited", message: "Notion is rate limiting; notion-search was not sent (try again in 12 s)" });
  assert.deepEqual(limited, [{ kind: "wait", label: "Retry", seconds: 12 }]);
  assert.deepEqual(kinds({ code: "rate_limited", message: "slow down" }), ["retry"]);
});

test("the model: key missing or refused → options; context too long → a new conversation", () => {
  assert.deepEqual(kinds({ code: "no_model", message: "no API key for the chat model: add one in the options page" }), ["options"]);
  assert.deepEqual(kinds({ code: "chat_failed", message: "the model endpoint refused the API key (HTTP 401); check it in the options page" }), ["options"]);
  assert.deepEqual(kinds({ code: "chat_failed", message: "the model endpoint refused the request as too long for the model's context even after it was shortened: …" }), ["new-chat", "options"]);
  assert.deepEqual(kinds({ code: "chat_failed", message: "the model endpoint is rate-limiting (HTTP 429); try again in a moment" }), ["retry"]);
  assert.deepEqual(kinds({ code: "chat_failed", message: "something odd" }), []);
});

test("a server's card: needs auth → Connect; error → retry now with the seconds to the next try", () => {
  assert.equal(serverFix({ id: "n", enabled: true, state: "needs_auth" }).kind, "connect");
  assert.deepEqual(serverFix({ id: "s", enabled: true, state: "error", retry_at: 1010 }, 1_000_000), { kind: "reconnect-server", label: "Retry now", server: "s", seconds: 10 });
  assert.equal(serverFix({ id: "s", enabled: true, state: "connected" }), null);
  assert.equal(serverFix({ id: "s", enabled: false, state: "error" }), null);
});

test("waiting times in words", () => {
  assert.equal(waitSeconds("(try again in 12 s)"), 12);
  assert.equal(waitSeconds("retry after 2.5 seconds"), 3);
  assert.equal(waitSeconds("no number"), null);
});

test("a rate-limited tool answer: the time left and a retry once it is over", async () => {
  const { resultProblem } = await import("../shared/fixes.js");
  const limited = { isError: true, content: [{ type: "text", text: "Rate limited. Retry after 2.5 seconds." }], structuredContent: { error: { code: "rate_limited", retry_after_seconds: 2.5 } } };
  assert.deepEqual(resultProblem(limited, "Notion"), { words: "Notion is rate limiting: try again in 3 s.", fixes: [{ kind: "wait", label: "Retry", seconds: 3 }] });
  assert.equal(resultProblem({ isError: false, structuredContent: { error: { code: "rate_limited" } } }), null);
  assert.equal(resultProblem({ isError: true, content: [] }), null);
});
