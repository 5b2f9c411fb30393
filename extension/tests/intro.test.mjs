// The chat panel's first screen: what is connected, what to try, the commands, and whether a model is set up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { iconOf, introModel } from "../shared/intro.js";

const sqlite = { id: "sqlite", name: "SQLite (sample)", state: "connected", enabled: true, tools: 6 };
const notion = { id: "notion", name: "Notion", state: "connected", enabled: true, tools: 14, workspace: { id: "w", name: "Acme Corp", icon: "🚀" } };
const toy = { id: "toy", name: "Toy", state: "connected", enabled: true, tools: 2 };

test("connected servers with icons and tool counts; those that are not, with their fix", () => {
  const intro = introModel([sqlite, notion, { id: "n2", name: "Notion", state: "needs_auth", enabled: true }, { id: "off", name: "Off", state: "disabled", enabled: false }], { model: true, notion: ["notion"] });
  assert.deepEqual(intro.servers.map((s) => [s.name, s.tools, s.icon]), [["SQLite (sample)", 6, { initial: "S" }], ["Acme Corp", 14, { emoji: "🚀" }], ["Notion", null, { initial: "N" }]]);
  assert.equal(intro.servers[2].fix.kind, "connect", "needs sign-in: Connect");
  assert.equal(intro.nothingConnected, false);
});

test("three examples that fit: plain requests with a model, slash commands without", () => {
  const withModel = introModel([sqlite, notion, toy], { model: true, notion: ["notion"] });
  assert.equal(withModel.examples.length, 3);
  assert.match(withModel.examples[0], /Acme Corp/);
  assert.ok(withModel.examples.every((e) => !e.startsWith("/")));
  const without = introModel([sqlite, notion, toy], { model: false, notion: ["notion"], tools: { toy: ["echo", "add"] } });
  assert.deepEqual(without.examples, ["/sql SELECT name, type FROM sqlite_master ORDER BY name", "/search meeting notes", "/tool toy.echo {}"]);
  assert.equal(without.noModel, true);
});

test("the commands follow what is connected, and the servers' prompts join them", () => {
  const onlySqlite = introModel([sqlite], { model: false, prompts: ["/summarise"] });
  assert.deepEqual(onlySqlite.commands.map((c) => c.usage), ["/sql <SELECT …>", "/tool <server>.<tool> {json}", "/summarise …"]);
  assert.equal(onlySqlite.examples.length, 2, "only what works: no Notion example without a workspace");
  const none = introModel([], { model: false });
  assert.equal(none.nothingConnected, true);
  assert.deepEqual(none.examples, []);
});

test("an image icon is never loaded: the initial instead", () => {
  assert.deepEqual(iconOf({ name: "X", workspace: { name: "Beta", icon: "https://example.com/i.png" } }), { initial: "B" });
});

test("a server that is down says when the next try is, and offers to try now", () => {
  const down = { id: "toy", name: "Toy", state: "error", enabled: true, retry_at: Date.now() / 1000 + 30 };
  const [entry] = introModel([down], { model: false }).servers;
  assert.equal(entry.fix.kind, "reconnect-server");
  assert.ok(entry.fix.seconds >= 29 && entry.fix.seconds <= 30, String(entry.fix.seconds));
});
