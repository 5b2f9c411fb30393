import { test } from "node:test";
import assert from "node:assert/strict";

import {
  accessAllows,
  createdPages,
  entityOf,
  iconOf,
  isPlanRefusal,
  queryRows,
  safeUrl,
  searchHits,
  selfInfo,
  toolError,
  usersOf,
} from "../shared/notion-results.js";

const text = (value, isError = false) => ({ content: [{ type: "text", text: typeof value === "string" ? value : JSON.stringify(value) }], ...(isError ? { isError } : {}) });

// A database as the hosted fetch writes it (tags and prose as in a published transcript of 2026-08).
const DATABASE = `<database url="{{https://app.notion.com/p/42c06c8781b083a580eb818964dc099a}}" inline="true">
The title of this Database is: Stage
<ancestor-path>
<parent-page url="https://app.notion.com/p/05606c8781b083f9820701a99375c320" title="Design"/>
</ancestor-path>
Here are the Database's Data Sources:
<data-sources>
<data-source url="{{collection://d1d06c87-81b0-8358-9bde-875409315d0a}}">
The title of this Data Source is: Stage
<data-source-state>
{"name":"Stage","schema":{"Name":{"description":"","name":"Name","type":"title"},"State":{"name":"State","type":"status","options":[{"name":"Open","color":"blue"},{"name":"Closed","color":"green"}]}},"url":"collection://d1d06c87-81b0-8358-9bde-875409315d0a"}
</data-source-state>
<sqlite-table>
CREATE TABLE IF NOT EXISTS "collection://d1d06c87-81b0-8358-9bde-875409315d0a" (url TEXT UNIQUE, "Name" TEXT)
</sqlite-table>
</data-source>
</data-sources>
<views>
<view url="{{view://d7406c87-81b0-83cf-8f88-081f0174600e}}">
{"dataSourceUrl":"{{collection://d1d06c87-81b0-8358-9bde-875409315d0a}}","name":"All","type":"table"}
</view>
</views>
</database>`;

test("a database's fetch gives its data sources with their schemas, and its views", () => {
  const entity = entityOf(text({ metadata: { type: "database" }, title: "Stage", url: "https://app.notion.com/p/42c06c8781b083a580eb818964dc099a", text: DATABASE }));
  assert.equal(entity.type, "database");
  assert.deepEqual(entity.dataSources, [{
    url: "collection://d1d06c87-81b0-8358-9bde-875409315d0a", name: "Stage",
    schema: { Name: { type: "title", options: [], readOnly: false }, State: { type: "status", options: ["Open", "Closed"], readOnly: false } },
  }]);
  assert.deepEqual(entity.views, [{ url: "view://d7406c87-81b0-83cf-8f88-081f0174600e", name: "All", type: "table" }]);
});

test("a page's fetch gives its properties, content and data source", () => {
  const page = `<page url="{{https://app.notion.com/p/3423880b67ac46f8ba60491e6406f458}}">
<ancestor-path>
<parent-data-source url="collection://578a60d8-2cb8-414c-9739-10e33e7c6567" name="Tasks"/>
</ancestor-path>
<properties>
{"Name":"Ship it","Status":"In Progress","date:Due:start":"2026-12-01"}
</properties>
<content>
# Plan
Uses </content> inside a code span.
</content>
</page>`;
  const entity = entityOf(text({ metadata: { type: "page" }, title: "Ship it", url: "https://app.notion.com/p/3423880b67ac46f8ba60491e6406f458", icon: { type: "emoji", emoji: "🚀" }, text: page }));
  assert.deepEqual(entity.properties, { Name: "Ship it", Status: "In Progress", "date:Due:start": "2026-12-01" });
  assert.equal(entity.content, "# Plan\nUses </content> inside a code span.");
  assert.equal(entity.dataSourceUrl, "collection://578a60d8-2cb8-414c-9739-10e33e7c6567");
  assert.deepEqual(iconOf(entity.icon), { emoji: "🚀", url: null });
});

test("search, query, create and users answers", () => {
  const hits = searchHits(text({ results: [{ id: "a", title: "Tasks", url: "https://app.notion.com/p/a", type: "database" }], type: "workspace_search" }));
  assert.equal(hits[0].type, "database");
  assert.deepEqual(queryRows(text({ results: [{ Name: "x", url: "https://app.notion.com/p/b" }], has_more: true })), { rows: [{ Name: "x", url: "https://app.notion.com/p/b" }], hasMore: true });
  assert.deepEqual(createdPages(text({ pages: [{ id: "c", url: "https://app.notion.com/p/c", properties: {} }] })), [{ id: "c", url: "https://app.notion.com/p/c" }]);
  assert.deepEqual(createdPages(text("Created https://app.notion.com/p/d")), [{ id: null, url: "https://app.notion.com/p/d" }]);
  assert.deepEqual(usersOf(text({ results: [{ type: "person", id: "u1", name: "Ada" }, { type: "bot", id: "b", name: "Bot" }] })).map((u) => u.id), ["u1"]);
  assert.deepEqual(searchHits(text("not json")), []);
});

test("refusals: Notion's {code, message}, the plan's words, the SDK's validation text", () => {
  assert.equal(toolError(text({ results: [] })), null);
  const plan = toolError(text({ code: "plan_required", message: "Querying needs Business.", upgrade_url: "https://www.notion.so/pricing" }, true));
  assert.deepEqual(plan, { code: "plan_required", message: "Querying needs Business.", upgradeUrl: "https://www.notion.so/pricing" });
  assert.ok(isPlanRefusal(plan));
  assert.ok(!isPlanRefusal(toolError(text({ code: "validation_error", message: "no" }, true))));
  assert.equal(toolError(text("MCP error -32602: Input validation error: Invalid arguments for tool x: []", true)).code, "invalid_arguments");
  const limited = { isError: true, content: [{ type: "text", text: "Rate limited." }], structuredContent: { error: { code: "rate_limited", message: "Rate limited." } } };
  assert.equal(toolError(limited).code, "error", "the text block is what a person reads; structured rate limits are the host's");
});

test("fetch self names the workspace and what its plan allows", () => {
  const self = selfInfo(text({ metadata: { type: "self" }, title: "", url: "", text: "", self: {
    workspace: { id: "w", name: "Acme Corp", icon: "🏢" }, user: { id: "u", name: "Ada" },
    current_tool_access: { query_data_sources: { status: "plan_required" }, search: { status: "available" } },
  } }));
  assert.equal(self.workspace.name, "Acme Corp");
  assert.equal(accessAllows(self, "query_data_sources"), false);
  assert.equal(accessAllows(self, "search"), true);
  assert.equal(accessAllows(self, "unknown_tool"), true);
  assert.equal(selfInfo(text({ self: {} })), null);
});

test("only https addresses are offered as links", () => {
  assert.equal(safeUrl("{{https://app.notion.com/p/a}}"), "https://app.notion.com/p/a");
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("http://example.com"), null);
  assert.deepEqual(iconOf({ type: "external", external: { url: "javascript:x" } }), { emoji: null, url: null });
});
