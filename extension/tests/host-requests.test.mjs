import { test } from "node:test";
import assert from "node:assert/strict";

import { authResult, chatEdit, chatSend, llmConfigure, llmModels, saveConversation, savePage, serverFromEditor, slashCommand } from "../shared/host-requests.js";

test("slash commands name a server, a tool and its arguments, or say what is wrong", () => {
  assert.deepEqual(slashCommand("/search  handbook "), { server: "notion", tool: "notion-search", arguments: { query: "handbook" } });
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
  const { arguments: args } = savePage(page, " db ", " ");
  assert.deepEqual(args.parent, { database_id: "db" });
  assert.deepEqual(args.pages, [{ properties: { Name: "https://example.com/a" }, content: "Source: https://example.com/a\n\nbody" }]);
  assert.equal(savePage({ ...page, selection: "chosen" }, "db", "Title").arguments.pages[0].content, "Source: https://example.com/a\n\nchosen");
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

test("Save conversation goes under a page, or as a database row titled in its title property", () => {
  const exported = { title: "Geography", markdown: "# Geography\n\n**You:** hi" };
  assert.deepEqual(saveConversation(exported, " p1 ").arguments, {
    parent: { page_id: "p1" }, pages: [{ properties: { title: "Geography" }, content: "# Geography\n\n**You:** hi" }],
  });
  assert.deepEqual(saveConversation(exported, "d1", "database", "Title").arguments.parent, { database_id: "d1" });
  assert.deepEqual(saveConversation(exported, "d1", "database", " ").arguments.pages[0].properties, { Name: "Geography" });
  assert.throws(() => saveConversation(exported, "  "), /name the page or database/);
});
