// The table model behind a tool's tabular result: shapes it reads, sorting, copies, the scrolled window, summaries.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cellText,
  countWords,
  nextDirection,
  resultSummary,
  sortRows,
  tableOf,
  toCsv,
  toMarkdown,
  visibleWindow,
} from "../shared/result-table.js";

const sqlite = {
  content: [{ type: "text", text: "id | name\n1 | Ada\n(1 row)" }],
  structuredContent: { columns: ["id", "name"], rows: [{ id: 1, name: "Ada" }], row_count: 1, truncated: false, truncated_by: null },
};

test("the SQLite server's columns and rows keep their order, and truncation is read", () => {
  assert.deepEqual(tableOf(sqlite), { columns: ["id", "name"], rows: [{ id: 1, name: "Ada" }], truncated: false, truncatedBy: null });
  const cut = { ...sqlite, structuredContent: { ...sqlite.structuredContent, truncated: true, truncated_by: "rows" } };
  assert.equal(tableOf(cut).truncated, true);
  assert.equal(tableOf(cut).truncatedBy, "rows");
  const empty = { content: [], structuredContent: { columns: ["a", "b"], rows: [], truncated: false } };
  assert.deepEqual(tableOf(empty).columns, ["a", "b"], "no rows still has its columns");
  assert.equal(countWords(tableOf(empty)), "no rows");
});

test("a list of objects in structured content or in JSON text is a table; Notion's properties are unwrapped", () => {
  const notion = { content: [{ type: "text", text: JSON.stringify({ results: [{ properties: { Name: "A", Status: "Done" } }, { properties: { Name: "B" } }], has_more: true }) }] };
  const table = tableOf(notion);
  assert.deepEqual(table.columns, ["Name", "Status"]);
  assert.equal(table.rows.length, 2);
  assert.equal(table.truncated, true, "has_more means there is more than shown");
  assert.equal(tableOf({ content: [{ type: "text", text: "hello" }] }), null);
  assert.equal(tableOf({ isError: true, content: [{ type: "text", text: JSON.stringify({ rows: [{ a: 1 }] }) }] }), null, "an error's JSON is not a table");
  assert.equal(tableOf({ structuredContent: { rows: [1, 2] } }), null, "a list of scalars is not rows");
});

test("sorting: numbers as numbers, text naturally, empty cells last both ways, stable, and a cycle of directions", () => {
  const rows = [{ n: 10, t: "a10" }, { n: 2, t: "a2" }, { n: null, t: "" }, { n: 2, t: "b" }];
  assert.deepEqual(sortRows(rows, "n", "asc").map((r) => r.n), [2, 2, 10, null]);
  assert.deepEqual(sortRows(rows, "n", "asc").map((r) => r.t).slice(0, 2), ["a2", "b"], "equal cells keep the server's order");
  assert.deepEqual(sortRows(rows, "n", "desc").map((r) => r.n), [10, 2, 2, null]);
  assert.deepEqual(sortRows(rows, "t", "asc").map((r) => r.t), ["a2", "a10", "b", ""]);
  assert.deepEqual(sortRows(rows, "t", null), rows);
  assert.notEqual(sortRows(rows, "t", null), rows, "a copy, never the rows themselves");
  assert.deepEqual([nextDirection(null), nextDirection("asc"), nextDirection("desc")], ["asc", "desc", null]);
});

test("CSV quotes what it must and defuses formulas; Markdown escapes pipes and line breaks", () => {
  const table = { columns: ["a", "b"], rows: [{ a: 'say "hi", then', b: "=HYPERLINK(1)" }, { a: -3, b: { x: 1 } }, { a: "line\nbreak", b: null }] };
  assert.equal(toCsv(table), 'a,b\r\n"say ""hi"", then",\'=HYPERLINK(1)\r\n-3,"{""x"":1}"\r\n"line\nbreak",');
  assert.equal(toMarkdown({ columns: ["a|b"], rows: [{ "a|b": "x|y\nz" }] }), "| a\\|b |\n| --- |\n| x\\|y<br>z |");
  assert.equal(cellText(undefined), "");
  assert.equal(cellText(false), "false");
});

test("counts and summaries in words", () => {
  assert.equal(countWords({ rows: [{}], truncated: false }), "1 row");
  assert.equal(countWords({ rows: new Array(1500).fill({}), truncated: true }), "1,500 rows, truncated");
  assert.equal(resultSummary(sqlite), "1 row");
  assert.equal(resultSummary({ content: [{ type: "text", text: "\nFirst line\nsecond" }] }), "First line");
  assert.equal(resultSummary({ isError: true, content: [{ type: "text", text: "no such table: x" }] }), "error: no such table: x");
  assert.equal(resultSummary({ content: [{ type: "text", text: "x".repeat(100) }] }, 10), "xxxxxxxxx…");
  assert.equal(resultSummary({ content: [{ type: "image" }] }), "image");
});

test("the scrolled window: rows in view plus overscan, and the space around them", () => {
  assert.deepEqual(visibleWindow({ scrollTop: 0, viewport: 300, rowHeight: 30, count: 1000, overscan: 5 }), { start: 0, end: 15, before: 0, after: 985 * 30 });
  const middle = visibleWindow({ scrollTop: 15_000, viewport: 300, rowHeight: 30, count: 1000, overscan: 5 });
  assert.deepEqual(middle, { start: 495, end: 515, before: 495 * 30, after: 485 * 30 });
  const end = visibleWindow({ scrollTop: 99_999, viewport: 300, rowHeight: 30, count: 1000, overscan: 5 });
  assert.equal(end.end, 1000);
  assert.ok(end.start <= end.end && end.after === 0);
  assert.deepEqual(visibleWindow({ scrollTop: 0, viewport: 300, rowHeight: 30, count: 0 }), { start: 0, end: 0, before: 0, after: 0 });
});
