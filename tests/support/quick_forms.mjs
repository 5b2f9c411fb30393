// Every path through the extension's Notion forms (and the chat panel's Save page and Save chat, which use the same
// parent picker), for tests/test_notion_contract.py: reads {source, schema, pageId, userId} as JSON on stdin and
// prints [{path, tool, arguments}] — what the forms would send — as JSON on stdout.

import {
  commentArguments,
  compileQuery,
  condition,
  createPageArguments,
  fromNotionFilter,
  kindOf,
  listDatabasesArguments,
  operatorsFor,
  queryArguments,
  searchWithinArguments,
  updateContentArguments,
  updatePropertiesArguments,
  valueKind,
} from "../../extension/shared/notion-quick.js";
import { saveConversation, savePage } from "../../extension/shared/host-requests.js";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));
const { source, schema, pageId, userId } = input;
const out = [];
const add = (path, tool, args) => out.push({ path, tool, arguments: args });

function sample(name, property, operator) {
  switch (valueKind(property, operator)) {
    case "none": return null;
    case "option": return property.options[0];
    case "boolean": return true;
    case "person": return userId;
    case "number": return 3;
    case "date": return "2026-10-15";
    default: return name === "Name" ? "a" : "x";
  }
}

add("databases", "notion-search", listDatabasesArguments());
for (const [name, property] of Object.entries(schema)) {
  if (!kindOf(property.type)) continue;
  for (const [operator] of operatorsFor(property)) {
    const where = condition(schema, name, operator, sample(name, property, operator));
    add(`query ${name} ${operator}`, "notion-query-data-sources", queryArguments(source, compileQuery({ source, schema, where, limit: 5 })));
    add(`search-instead ${name} ${operator}`, "notion-search", searchWithinArguments(source, where));
  }
  for (const direction of ["ascending", "descending"]) {
    add(`sort ${name} ${direction}`, "notion-query-data-sources", queryArguments(source, compileQuery({ source, schema, sorts: [{ property: name, direction }], limit: 100 })));
  }
}
const pasted = fromNotionFilter({ and: [{ property: "Status", status: { equals: "In Progress" } }, { or: [{ property: "Estimate", number: { greater_than: 1 } }, { property: "Blocked", checkbox: { equals: true } }] }] }, schema);
add("query pasted JSON", "notion-query-data-sources", queryArguments(source, compileQuery({ source, schema, ...pasted, sorts: [{ property: "Due", direction: "descending" }] })));

const values = {};
for (const [name, property] of Object.entries(schema)) {
  const kind = kindOf(property.type);
  if (kind === "text" && property.type !== "title") values[name] = kind === "text" && property.type === "url" ? "https://example.com" : "text";
  if (kind === "number") values[name] = "5";
  if (kind === "select" || kind === "status") values[name] = property.options.at(-1);
  if (kind === "multi_select") values[name] = property.options.slice(0, 2);
  if (kind === "date") values[name] = "2026-12-24";
  if (kind === "checkbox") values[name] = true;
  if (kind === "people") values[name] = userId;
}
add("create row", "notion-create-pages", createPageArguments({ parent: { kind: "data_source", id: source }, schema, title: "From the contract test", values, markdown: "# Heading\nText." }));
add("create page", "notion-create-pages", createPageArguments({ parent: { kind: "page", id: pageId }, title: "Child from the contract test", markdown: "Body" }));
add("update properties", "notion-update-page", updatePropertiesArguments(pageId, null, { title: "Renamed by the contract test" }));
add("update content", "notion-update-page", updateContentArguments(pageId, [{ find: "Start here.", replace: "Start here, please." }]));
add("comment", "notion-create-comment", commentArguments(pageId, "Checked by the **contract** test"));

const exported = { title: "Chat saved by the contract test", markdown: "# Chat saved by the contract test\n\n**You:** hi\n\n**Assistant:** hello\n" };
const page = { url: "https://example.com/espresso", title: "Page saved by the contract test", selection: "", text: "Grind fine." };
for (const [name, parent] of [["page", { kind: "page", id: pageId }], ["row", { kind: "data_source", id: source, schema }]]) {
  for (const [what, call] of [["chat", saveConversation(exported, { server: "notion", parent })], ["page", savePage(page, { server: "notion", parent })]]) {
    add(`save ${what} as a ${name}`, call.tool, call.arguments);
  }
}
process.stdout.write(JSON.stringify(out));
