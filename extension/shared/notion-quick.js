// Notion's everyday jobs as forms: what each form's values become in the arguments of Notion's hosted tools.
// Pure (no DOM), so node tests run it and a contract test checks every output against the hosted inputSchemas.
//
// A query is built as conditions on a data source's properties, from the form's builder or from a filter in the
// Notion API's JSON ({"property": "Status", "status": {"equals": "In Progress"}}, with "and"/"or"), and compiled
// to the read-only SQL notion-query-data-sources takes: each data source a table named by its collection:// URL,
// dates in "date:<name>:start" columns, checkboxes "__YES__"/"__NO__", lists as JSON arrays in text.

// --- the actions ---------------------------------------------------------------------------------------------

/** The forms, and the tool each needs. `fallback`: a tool that stands in when the first is not offered. */
export const QUICK_ACTIONS = [
  { id: "databases", title: "List databases", tool: "notion-search" },
  { id: "query", title: "Query a database", tool: "notion-query-data-sources", fallback: "notion-search", needs: ["notion-fetch"] },
  { id: "create", title: "Create a page", tool: "notion-create-pages", needs: ["notion-fetch", "notion-search"] },
  { id: "update", title: "Update a page", tool: "notion-update-page", needs: ["notion-fetch", "notion-search"] },
  { id: "comment", title: "Comment on a page", tool: "notion-create-comment", needs: ["notion-search"] },
];

/** The actions a server's tools support; a query form stays when only its fallback is there (it says so). */
export function quickActionsFor(toolNames) {
  const offered = new Set(toolNames);
  return QUICK_ACTIONS.filter(
    (action) => (offered.has(action.tool) || (action.fallback && offered.has(action.fallback))) && (action.needs ?? []).every((t) => offered.has(t)),
  );
}

/** Whether the server looks like Notion's: it has Notion's search and fetch. */
export function isNotionServer(toolNames) {
  const offered = new Set(toolNames);
  return offered.has("notion-search") && offered.has("notion-fetch");
}

// --- ids and addresses ---------------------------------------------------------------------------------------

const UUID = /([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})/i;

/** The dashed UUID in an id or an address, or null. */
export function uuidOf(text) {
  const found = [...String(text ?? "").matchAll(new RegExp(UUID, "gi"))].at(-1);
  return found ? found.slice(1, 6).join("-").toLowerCase() : null;
}

export const dataSourceUrl = (id) => `collection://${uuidOf(id) ?? id}`;

// --- properties and their operators ---------------------------------------------------------------------------

/** A property's type as the builder treats it; data-source states may name text "text" or people "person". */
export function kindOf(type) {
  const t = String(type ?? "");
  if (["title", "rich_text", "text", "url", "email", "phone_number"].includes(t)) return "text";
  if (t === "person" || t === "people") return "people";
  if (["select", "status", "multi_select", "date", "checkbox", "number"].includes(t)) return t;
  return null;
}

const EMPTY = [["is_empty", "is empty"], ["is_not_empty", "is not empty"]];
export const OPERATORS = {
  text: [["equals", "is"], ["does_not_equal", "is not"], ["contains", "contains"], ["does_not_contain", "does not contain"],
    ["starts_with", "starts with"], ["ends_with", "ends with"], ...EMPTY],
  number: [["equals", "="], ["does_not_equal", "≠"], ["greater_than", ">"], ["less_than", "<"],
    ["greater_than_or_equal_to", "≥"], ["less_than_or_equal_to", "≤"], ...EMPTY],
  select: [["equals", "is"], ["does_not_equal", "is not"], ...EMPTY],
  status: [["equals", "is"], ["does_not_equal", "is not"], ...EMPTY],
  multi_select: [["contains", "contains"], ["does_not_contain", "does not contain"], ...EMPTY],
  date: [["equals", "is"], ["before", "is before"], ["after", "is after"], ["on_or_before", "is on or before"],
    ["on_or_after", "is on or after"], ["past_week", "is within the past week"], ["past_month", "is within the past month"],
    ["next_week", "is within the next week"], ["next_month", "is within the next month"], ...EMPTY],
  checkbox: [["equals", "is"], ["does_not_equal", "is not"]],
  people: [["contains", "contains"], ["does_not_contain", "does not contain"], ...EMPTY],
};
const NO_VALUE = new Set(["is_empty", "is_not_empty", "past_week", "past_month", "next_week", "next_month"]);

/** What value an operator wants for a property: none, text, number, date, boolean, option (from the list) or person. */
export function valueKind(property, operator) {
  if (NO_VALUE.has(operator)) return "none";
  const kind = kindOf(property.type);
  if (kind === "select" || kind === "status" || kind === "multi_select") return "option";
  if (kind === "checkbox") return "boolean";
  if (kind === "people") return "person";
  return kind === "number" ? "number" : kind === "date" ? "date" : "text";
}

/** The operators the builder offers for a property: [[id, label], ...]; none for types it cannot filter. */
export function operatorsFor(property) {
  return OPERATORS[kindOf(property.type)] ?? [];
}

// --- conditions, from the builder or from Notion API filter JSON ------------------------------------------------

function propertyNamed(schema, name) {
  const property = schema[name];
  if (property) return { name, ...property };
  const near = Object.keys(schema).find((k) => k.toLowerCase() === String(name).toLowerCase());
  throw new Error(`there is no property "${name}"` + (near ? `; did you mean "${near}"?` : `; the properties are: ${Object.keys(schema).join(", ")}`));
}

/** A condition from the builder's row: property name, operator id, value as typed. Throws with words. */
export function condition(schema, name, operator, value) {
  const property = propertyNamed(schema, name);
  const kind = kindOf(property.type);
  if (!kind) throw new Error(`"${name}" is a ${property.type} property, which the form cannot filter on`);
  if (!OPERATORS[kind].some(([id]) => id === operator)) {
    throw new Error(`"${name}" (${property.type}) cannot be filtered with "${operator}"; use ${OPERATORS[kind].map(([id]) => id).join(", ")}`);
  }
  return { property: name, type: property.type, kind, operator, value: checkedValue(property, kind, operator, value) };
}

function checkedValue(property, kind, operator, value) {
  if (NO_VALUE.has(operator)) return null;
  const name = property.name;
  if (kind === "number") {
    const n = typeof value === "number" ? value : Number(String(value ?? "").trim());
    if (String(value ?? "").trim() === "" || !Number.isFinite(n)) throw new Error(`"${name}" is a number; ${JSON.stringify(value)} is not one`);
    return n;
  }
  if (kind === "checkbox") {
    if (value === true || value === "true" || value === "checked") return true;
    if (value === false || value === "false" || value === "unchecked") return false;
    throw new Error(`"${name}" is a checkbox: true or false, not ${JSON.stringify(value)}`);
  }
  if (kind === "date") {
    const text = String(value ?? "").trim();
    if (!/^\d{4}-\d{2}-\d{2}/.test(text)) throw new Error(`"${name}" is a date: write it as YYYY-MM-DD, not ${JSON.stringify(value)}`);
    return text.slice(0, 10);
  }
  const text = String(value ?? "");
  if (!text.trim()) throw new Error(`the condition on "${name}" needs a value`);
  if ((kind === "select" || kind === "status" || kind === "multi_select") && Array.isArray(property.options) && property.options.length) {
    const names = property.options.map((o) => (typeof o === "string" ? o : o.name));
    if (!names.includes(text)) throw new Error(`"${name}" has no option "${text}"; its options are: ${names.join(", ")}`);
  }
  if (kind === "people") return text.startsWith("user://") ? text : `user://${uuidOf(text) ?? text}`;
  return text;
}

const FILTER_KEYS = ["title", "rich_text", "text", "url", "email", "phone_number", "number", "select", "status", "multi_select", "date", "checkbox", "people", "person"];

/**
 * Conditions from a filter written as the Notion API writes them:
 *   {"property": "Status", "status": {"equals": "In Progress"}}, {"and": [...]} and {"or": [...]} nested two deep,
 * or a whole query body {"filter": ..., "sorts": [{"property", "direction"}]}. Returns {where, sorts}. Throws with words.
 */
export function fromNotionFilter(json, schema) {
  let body = json;
  if (typeof json === "string") {
    try {
      body = JSON.parse(json);
    } catch (error) {
      throw new Error(`the filter is not JSON: ${error.message}`);
    }
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new Error("the filter must be a JSON object");
  const hasQueryShape = "filter" in body || "sorts" in body;
  const where = hasQueryShape ? (body.filter ? node(body.filter, schema, 0) : null) : node(body, schema, 0);
  const sorts = hasQueryShape ? (body.sorts ?? []).map((sort) => {
    if (!sort || typeof sort !== "object" || !sort.property) throw new Error("each sort needs a property (timestamp sorts are not supported here)");
    propertyNamed(schema, sort.property);
    if (sort.direction && !["ascending", "descending"].includes(sort.direction)) throw new Error(`a sort's direction is "ascending" or "descending", not "${sort.direction}"`);
    return { property: sort.property, direction: sort.direction ?? "ascending" };
  }) : [];
  return { where, sorts };
}

function node(filter, schema, depth) {
  if (!filter || typeof filter !== "object" || Array.isArray(filter)) throw new Error("each filter must be a JSON object");
  for (const op of ["and", "or"]) {
    if (op in filter) {
      if (depth >= 2) throw new Error("filters nest at most two levels deep");
      if (!Array.isArray(filter[op]) || !filter[op].length) throw new Error(`"${op}" takes a non-empty list of filters`);
      return { op, items: filter[op].map((inner) => node(inner, schema, depth + 1)) };
    }
  }
  if (!("property" in filter)) throw new Error('a filter needs "property" (or "and"/"or" with a list of filters)');
  const property = propertyNamed(schema, filter.property);
  const keys = Object.keys(filter).filter((k) => k !== "property" && k !== "type");
  const typeKey = keys.find((k) => FILTER_KEYS.includes(k));
  if (!typeKey || keys.length !== 1) throw new Error(`the filter on "${filter.property}" needs exactly one condition such as {"${notionKey(property.type)}": {"equals": ...}}`);
  if (kindOf(typeKey) !== kindOf(property.type) || (["select", "status"].includes(typeKey) && typeKey !== property.type)) {
    throw new Error(`"${filter.property}" is a ${property.type} property; write {"property": "${filter.property}", "${notionKey(property.type)}": {...}}`);
  }
  const inner = filter[typeKey];
  const ops = inner && typeof inner === "object" ? Object.keys(inner) : [];
  if (ops.length !== 1) throw new Error(`the condition on "${filter.property}" needs exactly one comparison, such as {"equals": ...}`);
  const [operator] = ops;
  return condition(schema, filter.property, operator, NO_VALUE.has(operator) ? null : inner[operator]);
}

function notionKey(type) {
  const kind = kindOf(type);
  return kind === "text" ? (type === "title" ? "title" : type === "text" ? "rich_text" : type) : kind;
}

// --- SQL ---------------------------------------------------------------------------------------------------------

export const quote = (name) => `"${String(name).replaceAll('"', '""')}"`;
const escapeLike = (text) => String(text).replace(/[\\%_]/g, (c) => `\\${c}`);

/** The column a property lives in: dates by their start, "id"/"url" properties under "userDefined:". */
export function columnOf(name, type) {
  const own = /^(id|url)$/i.test(name) ? `userDefined:${name}` : name;
  return kindOf(type) === "date" ? `date:${own}:start` : own;
}

function conditionSql(c, params) {
  const column = quote(columnOf(c.property, c.type));
  const listy = c.kind === "multi_select" || c.kind === "people";
  switch (c.operator) {
    case "is_empty":
      return listy ? `(${column} IS NULL OR ${column} = '' OR ${column} = '[]')` : `(${column} IS NULL OR ${column} = '')`;
    case "is_not_empty":
      return listy ? `(${column} IS NOT NULL AND ${column} != '' AND ${column} != '[]')` : `(${column} IS NOT NULL AND ${column} != '')`;
    case "past_week": return `date(${column}) BETWEEN date('now', '-7 days') AND date('now')`;
    case "past_month": return `date(${column}) BETWEEN date('now', '-1 month') AND date('now')`;
    case "next_week": return `date(${column}) BETWEEN date('now') AND date('now', '+7 days')`;
    case "next_month": return `date(${column}) BETWEEN date('now') AND date('now', '+1 month')`;
    default:
  }
  if (c.kind === "checkbox") {
    params.push((c.operator === "equals") === Boolean(c.value) ? "__YES__" : "__NO__");
    return `${column} = ?`;
  }
  if (listy) {
    params.push(`%${escapeLike(JSON.stringify(c.value))}%`);
    return c.operator === "contains" ? `${column} LIKE ? ESCAPE '\\'` : `(${column} IS NULL OR ${column} NOT LIKE ? ESCAPE '\\')`;
  }
  if (c.kind === "date") {
    const sign = { equals: "=", before: "<", after: ">", on_or_before: "<=", on_or_after: ">=" }[c.operator];
    params.push(c.value);
    return `date(${column}) ${sign} ?`;
  }
  const like = { contains: "%{}%", does_not_contain: "%{}%", starts_with: "{}%", ends_with: "%{}" }[c.operator];
  if (like) {
    params.push(like.replace("{}", escapeLike(c.value)));
    return c.operator === "does_not_contain" ? `(${column} IS NULL OR ${column} NOT LIKE ? ESCAPE '\\')` : `${column} LIKE ? ESCAPE '\\'`;
  }
  const sign = { equals: "=", does_not_equal: "!=", greater_than: ">", less_than: "<", greater_than_or_equal_to: ">=", less_than_or_equal_to: "<=" }[c.operator];
  params.push(c.value);
  return c.operator === "does_not_equal" ? `(${column} IS NULL OR ${column} != ?)` : `${column} ${sign} ?`;
}

function whereSql(where, params) {
  if ("op" in where) return `(${where.items.map((item) => whereSql(item, params)).join(` ${where.op.toUpperCase()} `)})`;
  return conditionSql(where, params);
}

/**
 * The SQL for a query: {source: collection URL, schema, where (a condition tree or null), sorts, limit}. Returns
 * {sql, params}; values travel as parameters, never inside the SQL.
 */
export function compileQuery({ source, schema, where = null, sorts = [], limit = 25 }) {
  const params = [];
  let sql = `SELECT * FROM ${quote(source)}`;
  if (where) sql += ` WHERE ${whereSql(where, params)}`;
  if (sorts.length) {
    sql += ` ORDER BY ${sorts.map((s) => `${quote(columnOf(s.property, propertyNamed(schema, s.property).type))} ${s.direction === "descending" ? "DESC" : "ASC"}`).join(", ")}`;
  }
  const n = Math.trunc(Number(limit));
  if (!Number.isFinite(n) || n < 1 || n > 100) throw new Error("the limit is a whole number from 1 to 100");
  return { sql: `${sql} LIMIT ${n}`, params };
}

/** notion-query-data-sources' arguments for a compiled query: SQL mode, inside "data". */
export function queryArguments(source, compiled) {
  const data = { data_source_urls: [source], query: compiled.sql };
  if (compiled.params.length) data.params = compiled.params;
  return { data };
}

/** Where the plan has no SQL queries: a keyword search within the data source, its words from the conditions. */
export function searchWithinArguments(source, where) {
  const words = [];
  const collect = (w) => {
    if (!w) return;
    if ("op" in w) return w.items.forEach(collect);
    if (["equals", "contains", "starts_with", "ends_with"].includes(w.operator) && typeof w.value === "string" && !w.value.startsWith("user://")) words.push(w.value);
  };
  collect(where);
  return { query: words.join(" "), data_source_url: source, sort: words.length ? "relevance" : "last_edited", page_size: 25 };
}

/** Words for a condition tree, for people and for the model: Status is "In Progress" and Due is after 2026-01-01. */
export function describeWhere(where) {
  if (!where) return "every row";
  if ("op" in where) return where.items.map((item) => ("op" in item ? `(${describeWhere(item)})` : describeWhere(item))).join(` ${where.op} `);
  const label = (OPERATORS[where.kind] ?? []).find(([id]) => id === where.operator)?.[1] ?? where.operator;
  return where.value === null ? `${where.property} ${label}` : `${where.property} ${label} ${JSON.stringify(where.value)}`;
}

// --- listing databases ---------------------------------------------------------------------------------------------

/** The search that lists databases: everything, newest edits first; the databases are picked out of it. */
export const listDatabasesArguments = () => ({ query: "", sort: "last_edited", page_size: 50 });

// --- pages ------------------------------------------------------------------------------------------------------

/** One property's value as notion-create-pages and notion-update-page take it: {key: value} (dates split). */
export function propertyEntries(name, property, raw) {
  const kind = kindOf(property.type);
  const blank = raw === undefined || raw === null || raw === "" || (Array.isArray(raw) && raw.length === 0);
  if (blank && kind !== "checkbox") return {};
  switch (kind) {
    case "number": {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`"${name}" is a number; ${JSON.stringify(raw)} is not one`);
      return { [name]: n };
    }
    case "checkbox":
      return { [name]: raw === true || raw === "true" ? "__YES__" : "__NO__" };
    case "date": {
      const text = String(raw).trim();
      if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}.*)?$/.test(text)) throw new Error(`"${name}" is a date: YYYY-MM-DD, not ${JSON.stringify(raw)}`);
      return { [`date:${name}:start`]: text, [`date:${name}:is_datetime`]: text.includes("T") ? 1 : 0 };
    }
    case "multi_select": {
      const names = Array.isArray(raw) ? raw : String(raw).split(",").map((s) => s.trim()).filter(Boolean);
      return { [name]: JSON.stringify(names) };
    }
    case "people": {
      const people = (Array.isArray(raw) ? raw : [raw]).map((p) => (String(p).startsWith("user://") ? String(p) : `user://${uuidOf(p) ?? p}`));
      return { [name]: people.length === 1 ? people[0] : JSON.stringify(people) };
    }
    case "text": case "select": case "status":
      return { [/^(id|url)$/i.test(name) ? `userDefined:${name}` : name]: String(raw) };
    default:
      throw new Error(`"${name}" is a ${property.type} property, which this form cannot set`);
  }
}

/**
 * notion-create-pages' arguments: {parent: {kind: "page"|"data_source", id}, schema (a data source's, for rows),
 * title, values (by property name), markdown}. Throws with words when a value does not fit its property.
 */
export function createPageArguments({ parent, schema = null, title, values = {}, markdown = "" }) {
  if (!parent?.id) throw new Error("choose where the page goes");
  const id = uuidOf(parent.id);
  if (!id) throw new Error(`${JSON.stringify(parent.id)} is not a page or data source`);
  let properties;
  if (parent.kind === "data_source") {
    const titleName = Object.entries(schema ?? {}).find(([, p]) => p.type === "title")?.[0];
    if (!titleName) throw new Error("the data source's schema has no title property");
    properties = {};
    for (const [name, raw] of Object.entries(values)) {
      if (name === titleName) continue;
      const property = schema[name];
      if (!property) throw new Error(`there is no property "${name}"`);
      Object.assign(properties, propertyEntries(name, property, raw));
    }
    if (title) properties[titleName] = String(title);
  } else {
    if (!title) throw new Error("a page needs a title");
    properties = { title: String(title) };
  }
  const page = { properties };
  if (markdown) page.content = markdown;
  return { parent: parent.kind === "data_source" ? { data_source_id: id } : { page_id: id }, pages: [page] };
}

/** notion-update-page's update_properties for the properties that changed (title included). */
export function updatePropertiesArguments(pageId, schema, changes) {
  const properties = {};
  for (const [name, raw] of Object.entries(changes)) {
    const property = schema ? schema[name] : { type: "title" };
    if (!property) throw new Error(`there is no property "${name}"`);
    if (raw === null) properties[name] = null;
    else Object.assign(properties, schema ? propertyEntries(name, property, raw) : { title: String(raw) });
  }
  if (!Object.keys(properties).length) throw new Error("nothing to change");
  return { page_id: uuidOf(pageId) ?? pageId, command: "update_properties", properties };
}

/** notion-update-page's update_content: find-and-replace pairs, each "find" exactly as it stands in the page. */
export function updateContentArguments(pageId, pairs) {
  const content_updates = pairs.filter((p) => p.find).map((p) => ({ old_str: p.find, new_str: p.replace ?? "" }));
  if (!content_updates.length) throw new Error("give the text to find");
  return { page_id: uuidOf(pageId) ?? pageId, command: "update_content", content_updates };
}

/** notion-create-comment's arguments: a page-level comment in Markdown. */
export function commentArguments(pageId, markdown) {
  if (!String(markdown ?? "").trim()) throw new Error("write the comment");
  return { page_id: uuidOf(pageId) ?? pageId, markdown: String(markdown) };
}
