import { test } from "node:test";
import assert from "node:assert/strict";

import { addNotionWorkspace, authResult, chatEdit, chatSend, llmConfigure, llmModels, saveConversation, savePage, serverFromEditor, slashCommand } from "../shared/host-requests.js";

test("slash commands name a server, a tool and its arguments, or say what is wrong", () => {
  assert.deepEqual(slashCommand("/search  handbook "), { server: "notion", tool: "notion-search", arguments: { query: "handbook" } });
  assert.deepEqual(slashCommand("/search plans", "notion-2").server, "notion-2", "the workspace the panel chose");
  assert.throws(() => slashCommand("/search x", null), /no Notion workspace is connected/);
  assert.deepEqual(slashCommand("/sql SELECT 1"), { server: "sqlite", tool: "read_query", arguments: { query: "SELECT 1" } });
  assert.deepEqual(slashCommand('/tool toy.sleep {"seconds": 2}'), { server: "toy", tool: "sleep", arguments: { seconds: 2 } });
  assert.deepEqual(slashCommand("/tool my-server.a.b"), { server: "my-server", tool: "a.b", arguments: {} });
  assert.throws(() => slashCommand("/tool nothing"), /use \/tool server\.tool/);
  assert.throws(() => slashCommand("/tool toy.sleep {seconds}"), /the arguments are not JSON/);
  assert.throws(() => slashCommand("/tool toy.sleep [1]"), /must be a JSON object/);
  assert.throws(() => slashCommand("/frobnicate"), /unknown command \/frobnicate; try/);
  assert.throws(() => slashCommand("/"), /unknown command \/;/);
});

test("the server editor: add without an id, update with one; a command line that does not split is refused", () => {
  const [verb, fields] = serverFromEditor({ id: "", name: " Toy ", kind: "stdio", trusted: false, command: "toy --flag 'two words'" });
  assert.equal(verb, "server.add");
  assert.deepEqual(fields, { server: { name: "Toy", trusted: false, command: ["toy", "--flag", "two words"], kind: "stdio" } });
  const [update, change] = serverFromEditor({ id: "n", name: "N", kind: "remote", trusted: true, url: "https://x/mcp", transport: "http", clientId: " " });
  assert.equal(update, "server.update");
  assert.deepEqual(change, { server: "n", changes: { name: "N", trusted: true, url: "https://x/mcp", transport: "http", client_id: null } });
  assert.throws(() => serverFromEditor({ name: "x", kind: "stdio", command: "'open" }), /unclosed ' quote/);
});

test("optional fields are left out rather than sent empty", () => {
  assert.deepEqual(llmConfigure({ baseUrl: "https://a/v1", model: "m", apiKey: "" })[1], { base_url: "https://a/v1", model: "m" });
  assert.deepEqual(chatSend("hi")[1], { text: "hi" });
  assert.deepEqual(authResult("a", { error: new Error("closed") })[1], { auth_id: "a", error: "Error: closed" });
});

test("Save page sends the source first, the selection when there is one, and the title or the address", () => {
  const page = { url: "https://example.com/a", title: "", selection: "", text: "body" };
  const source = "collection://578a60d8-2cb8-414c-9739-10e33e7c6567";
  const call = savePage(page, { server: "notion-2", parent: { kind: "data_source", id: source, schema: { Name: { type: "title" }, Tags: { type: "multi_select" } } } });
  assert.equal(call.server, "notion-2");
  assert.deepEqual(call.arguments.parent, { data_source_id: "578a60d8-2cb8-414c-9739-10e33e7c6567" });
  assert.deepEqual(call.arguments.pages, [{ properties: { Name: "https://example.com/a" }, content: "Source: https://example.com/a\n\nbody" }]);
  const under = savePage({ ...page, title: "A", selection: "chosen" }, { server: "notion", parent: { kind: "page", id: "0cb1e29c658c4a1495e60af593bd04cf" } });
  assert.deepEqual(under.arguments, { parent: { page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf" }, pages: [{ properties: { title: "A" }, content: "Source: https://example.com/a\n\nchosen" }] });
  assert.throws(() => savePage(page, { server: "notion", parent: null }), /choose where the page goes/);
});

test("another Notion workspace is another server entry of its own", () => {
  assert.deepEqual(addNotionWorkspace(" https://mcp.notion.com/mcp "), ["server.add", { server: { name: "Notion", kind: "remote", url: "https://mcp.notion.com/mcp" } }]);
});

test("the chat settings go only when given; the default prompt and an empty context length mean 'back to the default'", () => {
  const base = { baseUrl: "https://a/v1", model: "m" };
  assert.deepEqual(llmConfigure({ ...base, systemPrompt: "Be brief.", contextLength: "32,768", summarize: true })[1], {
    base_url: "https://a/v1", model: "m", system_prompt: "Be brief.", context_length: 32768, summarize: true,
  });
  assert.equal(llmConfigure({ ...base, systemPrompt: " The default. ", defaultPrompt: "The default." })[1].system_prompt, null);
  assert.equal(llmConfigure({ ...base, systemPrompt: "   " })[1].system_prompt, null);
  assert.equal(llmConfigure({ ...base, systemPrompt: null })[1].system_prompt, null);
  assert.equal(llmConfigure({ ...base, contextLength: " " })[1].context_length, null);
  assert.throws(() => llmConfigure({ ...base, contextLength: "lots" }), /between 512 and 10,000,000/);
  assert.throws(() => llmConfigure({ ...base, contextLength: "100" }), /between 512/);
  assert.deepEqual(llmModels()[1], {});
  assert.deepEqual(llmModels({ baseUrl: " https://b/v1 ", fresh: true })[1], { base_url: "https://b/v1", fresh: true });
  assert.deepEqual(chatEdit("c1", "again")[1], { conversation_id: "c1", text: "again" });
});

test("Save chat goes into the chosen workspace, under a page or as a row of a data source, never by a pasted id", () => {
  const exported = { title: "Geography", markdown: "# Geography\n\n**You:** hi\n" };
  const page = { kind: "page", id: "https://www.notion.so/Trips-0cb1e29c658c4a1495e60af593bd04cf" };
  const under = saveConversation(exported, { server: "notion-2", parent: page });
  assert.equal(under.server, "notion-2");
  assert.equal(under.tool, "notion-create-pages");
  assert.deepEqual(under.arguments, {
    parent: { page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf" },
    pages: [{ properties: { title: "Geography" }, content: "**You:** hi\n" }],
  }, "the title heading is not repeated in the body");
  const source = { kind: "data_source", id: "collection://578a60d8-2cb8-414c-9739-10e33e7c6567", schema: { Topic: { type: "title" }, Tags: { type: "multi_select" } } };
  const row = saveConversation(exported, { server: "notion", parent: source });
  assert.deepEqual(row.arguments.parent, { data_source_id: "578a60d8-2cb8-414c-9739-10e33e7c6567" });
  assert.deepEqual(row.arguments.pages[0].properties, { Topic: "Geography" }, "the title goes in the title property");
  assert.equal(JSON.stringify(row.arguments).includes("database_id"), false);
  assert.equal(saveConversation({ title: "", markdown: "**You:** hi" }, { server: "notion", parent: page }).arguments.pages[0].properties.title, "Conversation");
  assert.throws(() => saveConversation(exported, { server: "notion", parent: null }), /choose where the page goes/);
  assert.throws(() => saveConversation(exported, { server: "notion", parent: { kind: "data_source", id: source.id, schema: { Tags: { type: "multi_select" } } } }), /no title property/);
  assert.throws(() => saveConversation(exported, { server: "notion", parent: { kind: "page", id: "p1" } }), /not a page or data source/);
});
