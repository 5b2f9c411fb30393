// The extension against docs/protocol.schema.json, which the host generates from its own models: every request
// the extension builds, sent the way the pages send it (BridgeClient → the background's handler table → the host's
// port), validates against requests[verb]; every message the extension handles validates against messages[type];
// every verb it sends and every message type it names exists in the schema. A change on either side fails here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";

import { ChunkJoiner } from "../background/chunks.js";
import { Correlator } from "../background/correlator.js";
import { hostForwarder, pageHandlers, servePort } from "../background/page-handlers.js";
import { BridgeClient } from "../shared/bridge-client.js";
import { isOwnEvent } from "../shared/chat-panel.js";
import * as requests from "../shared/host-requests.js";
import * as quick from "../shared/notion-quick.js";
import { FakeClock, FakePort, FakeRuntime, settle } from "./support/fakes.mjs";
import { MESSAGES, RESULTS } from "./support/host-messages.mjs";
import { describe, validate } from "./support/json-schema.mjs";

const EXTENSION = new URL("../", import.meta.url);
const SCHEMA = JSON.parse(readFileSync(new URL("../../docs/protocol.schema.json", import.meta.url), "utf8"));

// The verbs the extension must be able to send (the whole surface it uses); the test below checks each is built.
const EXPECTED_VERBS = [
  "hello", "ping", "status.get", "config.get", "server.add", "server.update", "server.remove", "server.enable",
  "server.connect", "server.disconnect", "auth.result", "llm.configure", "elicitation.respond", "chat.new",
  "chat.send", "chat.cancel", "chat.approve", "chat.list", "chat.history", "chat.delete", "chat.rename",
  "chat.search", "chat.export", "chat.regenerate", "chat.edit", "llm.models", "tools.list", "tool.call",
  "tool.cancel", "resources.list", "resources.templates", "resources.read", "resources.subscribe",
  "resources.unsubscribe", "prompts.list", "prompts.get", "completion.complete", "server.logs", "server.log_level",
  "sampling.respond", "servers.import",
]; // prettier-ignore

/**
 * A page and the background wired as they are in Chrome, with fakes at the edges: requests go through
 * BridgeClient, over a port, through the background's handler table and forwarder, and land in `frames` as the
 * host would read them.
 */
function wiredExtension() {
  const clock = new FakeClock();
  const frames = [];
  const correlator = new Correlator({ prefix: "bg", setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  const forward = hostForwarder({ correlator, send: (frame) => frames.push(JSON.parse(JSON.stringify(frame))) });
  const handlers = pageHandlers({ forward, readPage: async () => ({ ok: false }), openChat: async () => ({}), closeChat: async () => ({}), reconnect: () => {} });
  const runtime = new FakeRuntime();
  runtime.onConnect = (pagePort) => {
    const backgroundPort = new FakePort("ui");
    pagePort.peer = backgroundPort;
    backgroundPort.peer = pagePort;
    servePort(handlers, backgroundPort);
  };
  const client = new BridgeClient({ runtime, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  /** The background's own request, as service-worker.js makes it. */
  const own = (verb, fields) => forward({ id: correlator.freshId(), verb, fields });
  return { client, own, frames };
}

/** Every builder, wrapped so the test knows which were run. */
function recordingBuilders() {
  const used = new Set();
  const built = {};
  for (const [name, builder] of Object.entries(requests)) {
    built[name] = (...args) => {
      used.add(name);
      return builder(...args);
    };
  }
  return { built, used };
}

/** The Notion forms' tool calls, as tool.call requests (their arguments are checked against Notion's schemas by
 * tests/test_notion_contract.py; here they are checked as frames of the protocol). */
function quickFormCalls() {
  const source = "collection://578a60d8-2cb8-414c-9739-10e33e7c6567";
  const schema = { Name: { type: "title" }, Status: { type: "status", options: ["Done"] } };
  const where = quick.condition(schema, "Status", "equals", "Done");
  return [
    ["notion-search", quick.listDatabasesArguments()],
    ["notion-query-data-sources", quick.queryArguments(source, quick.compileQuery({ source, schema, where }))],
    ["notion-search", quick.searchWithinArguments(source, where)],
    ["notion-create-pages", quick.createPageArguments({ parent: { kind: "data_source", id: source }, schema, title: "t", values: { Status: "Done" } })],
    ["notion-update-page", quick.updateContentArguments("0cb1e29c658c4a1495e60af593bd04cf", [{ find: "a", replace: "b" }])],
    ["notion-create-comment", quick.commentArguments("0cb1e29c658c4a1495e60af593bd04cf", "hi")],
  ].map(([tool, args]) => ({ server: "notion", tool, arguments: args }));
}

/** What the pages and the background build, with the inputs they build it from (as typed in forms, or read). */
function everyRequest(b) {
  const server = { id: "sqlite", always_allow: ["read_query", "list_tables"] };
  const page = { url: "https://example.com/espresso", title: "Espresso basics", selection: "", text: "Grind fine." };
  const tools = [
    b.slashCommand("/search handbook"),
    b.slashCommand("/sql SELECT id, name FROM teams"),
    b.slashCommand('/tool toy.sleep {"seconds": 30}'),
    b.slashCommand("/tool sqlite.list_tables"),
    b.slashCommand("/search plans", "notion-2"),
    b.savePage(page, { server: "notion", parent: { kind: "data_source", id: "collection://578a60d8-2cb8-414c-9739-10e33e7c6567", schema: { Name: { type: "title" } } } }),
    b.savePage({ ...page, selection: "dose 18 grams", title: "" }, { server: "notion-2", parent: { kind: "page", id: "0cb1e29c658c4a1495e60af593bd04cf" } }),
    ...quickFormCalls(),
    b.saveConversation({ title: "Geography", markdown: "# Geography\n\n**You:** hi" }, { server: "notion", parent: { kind: "page", id: "0cb1e29c658c4a1495e60af593bd04cf" } }),
    b.saveConversation({ title: "Geography", markdown: "# Geography" }, { server: "notion-2", parent: { kind: "data_source", id: "collection://578a60d8-2cb8-414c-9739-10e33e7c6567", schema: { Name: { type: "title" } } } }),
  ];
  return {
    own: [
      b.hello("0123456789abcdef0123456789abcdef"),
      b.ping(),
      b.authResult("a1", { redirectUrl: "https://aikfhgidlkadhpijaojkkpakcdplakaf.chromiumapp.org/?code=x&state=y" }),
      b.authResult("a1", { error: "The user did not approve access." }),
    ],
    pages: [
      b.statusGet(),
      b.configGet(),
      b.serverConnect("notion"),
      b.serverDisconnect("notion"),
      b.serverEnable("sqlite", false),
      b.serverRemove("toy"),
      b.addNotionWorkspace("https://mcp.notion.com/mcp"),
      b.serverFromEditor({ id: "", name: " Notion ", kind: "remote", trusted: false, url: " https://mcp.notion.com/mcp ", transport: "auto", clientId: "" }),
      b.serverFromEditor({ id: "", name: "Toy", kind: "stdio", trusted: true, command: '"/usr/bin/python3" -m tests.support.toy_server stdio' }),
      b.serverFromEditor({ id: "notion", name: "Notion", kind: "remote", trusted: true, url: "https://mcp.notion.com/mcp", transport: "sse", clientId: "abc" }),
      b.serverFromEditor({ id: "toy", name: "Toy renamed", kind: "stdio", trusted: false, command: "toy-server --stdio" }),
      b.serverFromEditor({ id: "", name: "Keyed", kind: "remote", url: "https://mcp.example.com/mcp", clientId: "c1", clientSecret: "s3cret", headers: { "X-Api-Key": "k", "X-Empty": "" } }),
      b.serverFromEditor({ id: "keyed", name: "Keyed", kind: "remote", url: "https://mcp.example.com/mcp", headers: { "X-Api-Key": "", "X-New": "v" } }),
      b.serverFromEditor({ id: "", name: "Files", kind: "stdio", command: "files-server", roots: " /home/me/projects \n\n/srv/data" }),
      b.setDisabledTools("toy", ["sleep", "big", "sleep"]),
      b.serversImport('{"mcpServers": {"everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}}}'),
      b.serversImport('{"servers": {}}', true),
      b.sqliteSettings("sqlite", { dbPath: " /tmp/sample.db ", allowWrites: true }),
      b.revokeAlwaysAllow(server, "read_query"),
      b.llmConfigure({ baseUrl: " https://openrouter.ai/api/v1 ", model: "openai/gpt-4o-mini ", apiKey: "" }),
      b.llmConfigure({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3", apiKey: "sk-test" }),
      b.llmConfigure({ baseUrl: "https://openrouter.ai/api/v1", model: "z-ai/glm-4.5-air:free", systemPrompt: "Be brief. {servers}", contextLength: "131072", summarize: true }),
      b.llmConfigure({ baseUrl: "https://openrouter.ai/api/v1", model: "z-ai/glm-4.5-air:free", systemPrompt: null, contextLength: "", summarize: false }),
      b.llmModels(),
      b.llmModels({ baseUrl: "http://127.0.0.1:11434/v1", fresh: true }),
      b.elicitationRespond("e1", "accept", { name: "Ada" }),
      b.elicitationRespond("e1", "decline"),
      b.elicitationRespond("e1", "cancel", undefined),
      b.toolsList("sqlite"),
      b.toolsList("sqlite", { includeDisabled: true }),
      b.resourcesList("toy"),
      b.resourcesTemplates("toy"),
      b.resourcesRead("toy", "file:///notes/today.md"),
      b.resourcesSubscribe("toy", "file:///notes/today.md"),
      b.resourcesUnsubscribe("toy", "file:///notes/today.md"),
      b.promptsList("toy"),
      b.promptsGet("toy", "summarize", { text: "Long text", style: "", count: 3 }),
      b.completionComplete("toy", { type: "ref/prompt", name: "summarize" }, "style", "b", { text: "Long text", style: "b" }),
      b.completionComplete("toy", { type: "ref/resource", uri: "notes://{topic}" }, "topic", ""),
      b.serverLogs("toy"),
      b.serverLogLevel("toy", "warning"),
      b.samplingRespond("s1", "approve"),
      b.samplingRespond("s1", "approve", "Paris."),
      b.samplingRespond("s1", "decline"),
      ...tools.map((call) => b.toolCall(call.server, call.tool, call.arguments)),
      b.toolCancel("pabcdefgh-3"),
      b.chatNew(),
      b.chatSend("Save this article", "c1", page),
      b.chatSend("alpha: save this page", "c1"),
      b.chatCancel("c1"),
      b.chatApprove("c1", "call_1", true, true),
      b.chatApprove("c1", "call_1", false),
      b.chatList(),
      b.chatHistory("c1"),
      b.chatDelete("c1"),
      b.chatRename("c1", " Geography "),
      b.chatSearch(" capital "),
      b.chatExport("c1"),
      b.chatRegenerate("c1"),
      b.chatEdit("c1", "What about Spain?"),
      b.chatEdit("c1", "What about this page?", page),
    ],
  };
}

test("every request the extension sends, as the host receives it, validates against requests[verb]", async () => {
  const { client, own, frames } = wiredExtension();
  const { built, used } = recordingBuilders();
  const { own: ownRequests, pages } = everyRequest(built);
  for (const [verb, fields] of ownRequests) own(verb, fields);
  for (const [verb, fields] of pages) client.request(verb, fields);
  await settle();
  assert.equal(frames.length, ownRequests.length + pages.length, "every request reached the host's port");
  for (const frame of frames) {
    const schema = SCHEMA.requests[frame.type];
    assert.ok(schema, `the schema has no verb ${frame.type}`);
    const errors = validate(schema, frame);
    assert.deepEqual(errors, [], `${frame.type} ${JSON.stringify(frame)}:\n${describe(errors)}`);
  }
  // Each went with one id, the page's own: no second id on the way.
  const pageFrames = frames.slice(ownRequests.length);
  assert.ok(pageFrames.every((frame) => /^p[0-9a-z]{8}-\d+$/.test(frame.id)), "the pages' ids reach the host unchanged");
  assert.equal(new Set(frames.map((frame) => frame.id)).size, frames.length);

  // The whole surface is covered, and no builder escaped the check.
  const sent = new Set(frames.map((frame) => frame.type));
  assert.deepEqual(EXPECTED_VERBS.filter((verb) => !sent.has(verb)), [], "verbs never built");
  assert.deepEqual(Object.keys(requests).filter((name) => !used.has(name)), [], "builders this test does not run");
});

test("a request that drifts from the schema fails the check (the check is not vacuous)", () => {
  const frame = (verb, fields) => ({ ...fields, type: verb, id: "pabcdefgh-1" });
  const wrong = [
    frame("tool.cancel", { id_of_call: "x" }),
    frame("chat.approve", { conversation_id: "c1", call_id: "call_1", approve: "yes" }),
    frame("server.add", { server: { name: "x", kind: "websocket" } }),
    frame("hello", { profile_id: "short" }),
    frame("chat.send", { text: "" }),
    frame("llm.configure", { base_url: "https://a/v1", model: "m", context_length: 100 }),
    frame("chat.rename", { conversation_id: "c1", title: "" }),
    { ...frame("ping", {}), id: "x".repeat(201) },
  ];
  for (const bad of wrong) assert.notDeepEqual(validate(SCHEMA.requests[bad.type], bad), [], JSON.stringify(bad));
});

test("every verb the extension names exists in the schema, and only host-requests.js names verbs", () => {
  const sources = extensionSources();
  const builders = sources.get("shared/host-requests.js");
  const verbs = [...builders.matchAll(/\[\s*"([a-z_]+(?:\.[a-z_]+)*)",/g)].map((m) => m[1]);
  assert.ok(verbs.length >= EXPECTED_VERBS.length, "the builders were found");
  assert.deepEqual(verbs.filter((verb) => !SCHEMA.requests[verb]), [], "verbs the host does not know");
  for (const [path, text] of sources) {
    // A request with a literal verb would bypass the builders, and with them this test.
    const literal = /\b(?:request|start)\(\s*["'`]/.exec(text);
    assert.equal(literal, null, `${path} sends a verb that is not built in host-requests.js: ${literal?.[0]}`);
    if (path !== "shared/bridge-client.js") {
      assert.doesNotMatch(text, /\.port\b/, `${path} reaches past BridgeClient to its port`);
    }
  }
});

test("every message the extension handles validates against messages[type], declaring every field it reads", () => {
  for (const [type, sample] of MESSAGES) {
    const schema = SCHEMA.messages[type];
    assert.ok(schema, `the schema has no message ${type}`);
    const errors = validate(schema, sample, { closed: true });
    assert.deepEqual(errors, [], `${type} ${JSON.stringify(sample)}:\n${describe(errors)}`);
  }
  const sampled = new Set(MESSAGES.map(([type]) => type));
  assert.deepEqual(Object.keys(SCHEMA.messages).filter((type) => !sampled.has(type)), [], "message types with no sample");
});

test("the results pages read validate against results[verb]", () => {
  for (const [verb, result] of RESULTS) {
    const schema = SCHEMA.results[verb];
    assert.ok(schema, `the schema has no result for ${verb}`);
    const errors = validate(schema, result, { closed: true });
    assert.deepEqual(errors, [], `${verb} ${JSON.stringify(result)}:\n${describe(errors)}`);
    const reply = { type: "reply", id: "pabcdefgh-1", ok: true, result };
    assert.deepEqual(validate(SCHEMA.messages.reply, reply, { closed: true }), []);
  }
});

test("the message types the background and the panel name are the host's", () => {
  const sources = extensionSources();
  const background = sources.get("background/service-worker.js");
  const cases = [...background.matchAll(/case "([^"]+)":/g)].map((m) => m[1]);
  assert.ok(cases.includes("auth.open") && cases.includes("reply"), "the background's frame switch was found");
  assert.deepEqual(cases.filter((type) => !SCHEMA.messages[type]), [], "the background handles types the host never sends");
  const panel = sources.get("panel/panel.js");
  const events = [...panel.matchAll(/event\.type === "([^"]+)"/g)].map((m) => m[1]);
  assert.ok(events.includes("chat.delta"), "the panel's event types were found");
  assert.deepEqual(events.filter((type) => !SCHEMA.messages[type]), [], "the panel waits for events the host never sends");
  const statuses = SCHEMA.messages["chat.tool"].properties.status.enum;
  assert.ok(panel.includes(`"awaiting_approval"`) && statuses.includes("awaiting_approval"));
});

test("the samples go through the extension's own readers", () => {
  // A status too big for one frame comes as chunks, and joins back into a message the schema accepts.
  const status = MESSAGES.find(([type]) => type === "status")[1];
  const text = JSON.stringify(status);
  const joiner = new ChunkJoiner();
  const chunks = [text.slice(0, 10), text.slice(10, 50), text.slice(50)].map((data, seq, all) => ({ type: "chunk", stream: "s1", seq, last: seq === all.length - 1, data }));
  for (const chunk of chunks) assert.deepEqual(validate(SCHEMA.messages.chunk, chunk, { closed: true }), []);
  const joined = chunks.map((chunk) => joiner.accept(chunk)).at(-1);
  assert.deepEqual(joined, status);
  // Every chat event names its conversation where the panel looks for it.
  for (const [type, sample] of MESSAGES.filter(([t]) => t.startsWith("chat."))) {
    assert.equal(isOwnEvent(sample, "c1"), true, type);
    assert.equal(isOwnEvent(sample, "c2"), false, type);
  }
});

/** The extension's own scripts (not its tests), by path under extension/. */
function extensionSources() {
  const found = new Map();
  const walk = (dir, prefix) => {
    for (const name of readdirSync(dir)) {
      const full = new URL(name, dir);
      if (statSync(full).isDirectory()) {
        if (name !== "tests") walk(new URL(`${name}/`, dir), `${prefix}${name}/`);
      } else if (name.endsWith(".js")) {
        found.set(`${prefix}${name}`, readFileSync(full, "utf8"));
      }
    }
  };
  walk(EXTENSION, "");
  return found;
}
