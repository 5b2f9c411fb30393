import { test } from "node:test";
import assert from "node:assert/strict";

import {
  commentArguments,
  compileQuery,
  condition,
  createPageArguments,
  describeWhere,
  fromNotionFilter,
  operatorsFor,
  queryArguments,
  quickActionsFor,
  searchWithinArguments,
  updateContentArguments,
  updatePropertiesArguments,
  uuidOf,
  valueKind,
} from "../shared/notion-quick.js";

const SOURCE = "collection://578a60d8-2cb8-414c-9739-10e33e7c6567";
const SCHEMA = {
  Name: { type: "title" },
  Status: { type: "status", options: ["Not started", "In Progress", "Done"] },
  Priority: { type: "select", options: ["High", "Medium", "Low"] },
  Due: { type: "date" },
  Assignee: { type: "people" },
  Tags: { type: "multi_select", options: ["bug", "feature"] },
  Estimate: { type: "number" },
  Blocked: { type: "checkbox" },
  URL: { type: "url" },
};

test("the actions follow the tools a server offers; the query form stays where only search is left", () => {
  const all = ["notion-search", "notion-fetch", "notion-query-data-sources", "notion-create-pages", "notion-update-page", "notion-create-comment"];
  assert.deepEqual(quickActionsFor(all).map((a) => a.id), ["databases", "query", "create", "update", "comment"]);
  assert.deepEqual(quickActionsFor(["notion-search", "notion-fetch"]).map((a) => a.id), ["databases", "query"]);
  assert.deepEqual(quickActionsFor(["read_query"]), []);
});

test("each property type gets its own operators and value kind", () => {
  assert.deepEqual(operatorsFor(SCHEMA.Status).map(([id]) => id), ["equals", "does_not_equal", "is_empty", "is_not_empty"]);
  assert.ok(operatorsFor(SCHEMA.Due).some(([id]) => id === "on_or_after"));
  assert.deepEqual(operatorsFor({ type: "formula" }), []);
  assert.equal(valueKind(SCHEMA.Tags, "contains"), "option");
  assert.equal(valueKind(SCHEMA.Assignee, "contains"), "person");
  assert.equal(valueKind(SCHEMA.Due, "is_empty"), "none");
  assert.equal(valueKind({ type: "text" }, "contains"), "text", "a data source may call rich text \"text\"");
});

test("the builder's conditions compile to parameterised SQL over the collection table", () => {
  const where = { op: "and", items: [condition(SCHEMA, "Status", "equals", "In Progress"), condition(SCHEMA, "Estimate", "greater_than", "2")] };
  const compiled = compileQuery({ source: SOURCE, schema: SCHEMA, where, sorts: [{ property: "Due", direction: "descending" }], limit: 10 });
  assert.equal(
    compiled.sql,
    `SELECT * FROM "${SOURCE}" WHERE ("Status" = ? AND "Estimate" > ?) ORDER BY "date:Due:start" DESC LIMIT 10`,
  );
  assert.deepEqual(compiled.params, ["In Progress", 2]);
  assert.deepEqual(queryArguments(SOURCE, compiled), { data: { data_source_urls: [SOURCE], query: compiled.sql, params: ["In Progress", 2] } });
  assert.deepEqual(compileQuery({ source: SOURCE, schema: SCHEMA }), { sql: `SELECT * FROM "${SOURCE}" LIMIT 25`, params: [] });
});

test("every type compiles to its column and its stored form", () => {
  const sql = (name, op, value) => {
    const compiled = compileQuery({ source: SOURCE, schema: SCHEMA, where: condition(SCHEMA, name, op, value) });
    return [compiled.sql.replace(`SELECT * FROM "${SOURCE}" WHERE `, "").replace(" LIMIT 25", ""), compiled.params];
  };
  assert.deepEqual(sql("Blocked", "equals", "true"), [`"Blocked" = ?`, ["__YES__"]]);
  assert.deepEqual(sql("Blocked", "does_not_equal", true), [`"Blocked" = ?`, ["__NO__"]]);
  assert.deepEqual(sql("Due", "on_or_after", "2026-10-01"), [`date("date:Due:start") >= ?`, ["2026-10-01"]]);
  assert.deepEqual(sql("Tags", "contains", "bug"), [`"Tags" LIKE ? ESCAPE '\\'`, ['%"bug"%']]);
  assert.deepEqual(sql("Assignee", "contains", "6513270e-269e-4d37-b2a7-4de452e6b438"), [`"Assignee" LIKE ? ESCAPE '\\'`, ['%"user://6513270e-269e-4d37-b2a7-4de452e6b438"%']]);
  assert.deepEqual(sql("Name", "contains", "50%_off"), [`"Name" LIKE ? ESCAPE '\\'`, ["%50\\%\\_off%"]]);
  assert.deepEqual(sql("Tags", "is_empty"), [`("Tags" IS NULL OR "Tags" = '' OR "Tags" = '[]')`, []]);
  assert.deepEqual(sql("URL", "equals", "https://x"), [`"userDefined:URL" = ?`, ["https://x"]]);
  assert.deepEqual(sql("Name", "does_not_equal", "x"), [`("Name" IS NULL OR "Name" != ?)`, ["x"]]);
});

test("bad builder values are refused in words", () => {
  assert.throws(() => condition(SCHEMA, "Estimate", "greater_than", "lots"), /Estimate" is a number/);
  assert.throws(() => condition(SCHEMA, "Due", "after", "next tuesday"), /YYYY-MM-DD/);
  assert.throws(() => condition(SCHEMA, "Status", "equals", "Doing"), /has no option "Doing"/);
  assert.throws(() => condition(SCHEMA, "status", "equals", "Done"), /did you mean "Status"/);
  assert.throws(() => condition(SCHEMA, "Tags", "greater_than", "1"), /cannot be filtered with "greater_than"/);
  assert.throws(() => compileQuery({ source: SOURCE, schema: SCHEMA, limit: 500 }), /1 to 100/);
});

test("the brief's Notion API filter JSON compiles to the same query as the builder", () => {
  const built = compileQuery({ source: SOURCE, schema: SCHEMA, where: condition(SCHEMA, "Status", "equals", "In Progress"), sorts: [{ property: "Due", direction: "descending" }] });
  const pasted = fromNotionFilter('{"property": "Status", "status": {"equals": "In Progress"}}', SCHEMA);
  assert.deepEqual(compileQuery({ source: SOURCE, schema: SCHEMA, where: pasted.where, sorts: [{ property: "Due", direction: "descending" }] }), built);
  const body = fromNotionFilter({ filter: { property: "Status", status: { equals: "In Progress" } }, sorts: [{ property: "Due", direction: "descending" }] }, SCHEMA);
  assert.deepEqual(compileQuery({ source: SOURCE, schema: SCHEMA, ...body }), built);
});

test("and/or compounds nest, and wrong JSON says what is wrong", () => {
  const { where } = fromNotionFilter({
    or: [
      { property: "Priority", select: { equals: "High" } },
      { and: [{ property: "Tags", multi_select: { contains: "bug" } }, { property: "Blocked", checkbox: { equals: true } }] },
    ],
  }, SCHEMA);
  const compiled = compileQuery({ source: SOURCE, schema: SCHEMA, where });
  assert.match(compiled.sql, /WHERE \("Priority" = \? OR \("Tags" LIKE \? ESCAPE '\\' AND "Blocked" = \?\)\)/);
  assert.deepEqual(compiled.params, ["High", '%"bug"%', "__YES__"]);
  assert.equal(describeWhere(where), 'Priority is "High" or (Tags contains "bug" and Blocked is true)');
  assert.throws(() => fromNotionFilter("{nope", SCHEMA), /not JSON/);
  assert.throws(() => fromNotionFilter({ property: "Status", select: { equals: "Done" } }, SCHEMA), /Status" is a status property; write \{"property": "Status", "status"/);
  assert.throws(() => fromNotionFilter({ property: "Status", status: { equals: "Done", does_not_equal: "x" } }, SCHEMA), /exactly one comparison/);
  assert.throws(() => fromNotionFilter({ and: [{ and: [{ and: [] }] }] }, SCHEMA), /two levels/);
  assert.throws(() => fromNotionFilter({ property: "Nope", title: { equals: "x" } }, SCHEMA), /no property "Nope"/);
  assert.deepEqual(fromNotionFilter({ property: "Name", rich_text: { contains: "API" } }, SCHEMA).where.operator, "contains");
});

test("without SQL, a search within the data source uses the conditions' words", () => {
  const where = { op: "and", items: [condition(SCHEMA, "Status", "equals", "In Progress"), condition(SCHEMA, "Estimate", "greater_than", 2)] };
  assert.deepEqual(searchWithinArguments(SOURCE, where), { query: "In Progress", data_source_url: SOURCE, sort: "relevance", page_size: 25 });
  assert.deepEqual(searchWithinArguments(SOURCE, null), { query: "", data_source_url: SOURCE, sort: "last_edited", page_size: 25 });
});

test("create, update and comment take the hosted tools' shapes", () => {
  const parent = { kind: "data_source", id: SOURCE };
  assert.deepEqual(
    createPageArguments({
      parent, schema: SCHEMA, title: "Write docs",
      values: { Status: "In Progress", Due: "2026-12-01", Estimate: "3", Blocked: true, Tags: ["bug", "feature"], Assignee: "6513270e-269e-4d37-b2a7-4de452e6b438", Priority: "" },
      markdown: "# Plan\nFirst draft.",
    }),
    {
      parent: { data_source_id: "578a60d8-2cb8-414c-9739-10e33e7c6567" },
      pages: [{
        properties: { Status: "In Progress", "date:Due:start": "2026-12-01", "date:Due:is_datetime": 0, Estimate: 3, Blocked: "__YES__",
          Tags: '["bug","feature"]', Assignee: "user://6513270e-269e-4d37-b2a7-4de452e6b438", Name: "Write docs" },
        content: "# Plan\nFirst draft.",
      }],
    },
  );
  assert.deepEqual(
    createPageArguments({ parent: { kind: "page", id: "https://app.notion.com/p/0cb1e29c658c4a1495e60af593bd04cf" }, title: "Notes" }),
    { parent: { page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf" }, pages: [{ properties: { title: "Notes" } }] },
  );
  assert.throws(() => createPageArguments({ parent, schema: SCHEMA, title: "x", values: { Estimate: "many" } }), /Estimate" is a number/);
  assert.deepEqual(updatePropertiesArguments("0cb1e29c658c4a1495e60af593bd04cf", SCHEMA, { Status: "Done", Blocked: false }), {
    page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf", command: "update_properties", properties: { Status: "Done", Blocked: "__NO__" },
  });
  assert.deepEqual(updatePropertiesArguments("p", null, { title: "Renamed" }).properties, { title: "Renamed" });
  assert.deepEqual(updateContentArguments("0cb1e29c658c4a1495e60af593bd04cf", [{ find: "old", replace: "new" }, { find: "" }]), {
    page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf", command: "update_content", content_updates: [{ old_str: "old", new_str: "new" }],
  });
  assert.deepEqual(commentArguments("0cb1e29c658c4a1495e60af593bd04cf", "Looks **good**"), { page_id: "0cb1e29c-658c-4a14-95e6-0af593bd04cf", markdown: "Looks **good**" });
  assert.throws(() => commentArguments("p", " "), /write the comment/);
  assert.equal(uuidOf("https://www.notion.so/Tasks-314197758c3b4859a3bc91526d6b987a?v=1"), "31419775-8c3b-4859-a3bc-91526d6b987a");
});
