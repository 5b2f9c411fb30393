import { test } from "node:test";
import assert from "node:assert/strict";

import { QUICK_ACTIONS, quickActionsFor } from "../shared/notion-quick.js";

const action = (id) => QUICK_ACTIONS.find((a) => a.id === id);

test("quick actions appear only for servers that have the tools", () => {
  assert.deepEqual(quickActionsFor(["notion-search", "notion-fetch"]).map((a) => a.id), ["search", "fetch"]);
  assert.deepEqual(quickActionsFor(["read_query"]), []);
});

test("a database query becomes Notion's filter and sorts", () => {
  assert.deepEqual(
    action("query").build({ data_source_id: "ds", property: "Rating", property_type: "number", condition: "greater_than", value: "3", sort_by: "Name", direction: "descending" }),
    { data_source_id: "ds", filter: { property: "Rating", number: { greater_than: 3 } }, sorts: [{ property: "Name", direction: "descending" }] },
  );
  assert.deepEqual(action("query").build({ data_source_id: "ds" }), { data_source_id: "ds" });
  assert.deepEqual(action("query").build({ data_source_id: "ds", property: "Done", property_type: "checkbox", condition: "is_empty" }).filter, {
    property: "Done",
    checkbox: { is_empty: true },
  });
});

test("a page from Markdown and a comment take Notion's shapes", () => {
  assert.deepEqual(action("create").build({ parent_id: "db", title: "Notes", markdown: "# Hi" }), {
    parent: { database_id: "db" },
    pages: [{ properties: { Name: "Notes" }, content: "# Hi" }],
  });
  assert.deepEqual(action("create").build({ parent_kind: "page", parent_id: "p", title: "Sub" }).parent, { page_id: "p" });
  assert.deepEqual(action("comment").build({ page_id: "p", text: "Nice" }), { page_id: "p", rich_text: [{ text: { content: "Nice" } }] });
});
