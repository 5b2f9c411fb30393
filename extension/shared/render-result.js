// Renders an MCP CallToolResult readably: text blocks, a table for lists of rows, a collapsible JSON tree.
// Everything from a server goes in as text nodes: no server-supplied HTML reaches the DOM.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function rowsOf(structured) {
  if (!structured || typeof structured !== "object") return null;
  for (const value of Object.values(structured)) {
    if (Array.isArray(value) && value.length && value.every((row) => row && typeof row === "object" && !Array.isArray(row))) {
      return value.map((row) => (row.properties && typeof row.properties === "object" ? row.properties : row));
    }
  }
  return null;
}

function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A cell's node: an https address becomes a link that opens in a new tab; anything else is text. */
function cellNode(value) {
  const text = cell(value);
  if (typeof value === "string" && /^https:\/\/[^\s]+$/.test(value)) {
    const link = el("a", "", text);
    link.href = value;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    const td = el("td");
    td.append(link);
    return td;
  }
  return el("td", "", text);
}

/** The JSON a result's text holds (Notion's tools answer JSON in text), when it is an object. */
function textJson(result) {
  for (const block of result.content ?? []) {
    if (block.type !== "text") continue;
    try {
      const value = JSON.parse(block.text);
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // not JSON: shown as text
    }
  }
  return null;
}

export function table(rows) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const node = el("table", "rows");
  const head = node.createTHead().insertRow();
  columns.forEach((column) => head.append(el("th", "", column)));
  const body = node.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    columns.forEach((column) => tr.append(cellNode(row[column])));
  }
  return node;
}

export function jsonTree(value, name = "result") {
  if (value === null || typeof value !== "object") return el("span", "json-leaf", `${name}: ${JSON.stringify(value)}`);
  const details = el("details", "json");
  details.append(el("summary", "", `${name} ${Array.isArray(value) ? `[${value.length}]` : `{${Object.keys(value).length}}`}`));
  for (const [key, inner] of Object.entries(value)) {
    const item = el("div", "json-item");
    item.append(jsonTree(inner, key));
    details.append(item);
  }
  return details;
}

/** Fill ``container`` with the rendering of ``result``; returns the text a Copy button should copy. */
export function renderResult(container, result) {
  container.replaceChildren();
  container.classList.toggle("is-error", Boolean(result.isError));
  const texts = [];
  for (const block of result.content ?? []) {
    if (block.type === "text") {
      texts.push(block.text);
      container.append(el("pre", "text", block.text));
    } else {
      container.append(jsonTree(block, block.type));
    }
  }
  const rows = rowsOf(result.structuredContent) ?? (result.isError ? null : rowsOf(textJson(result)));
  if (rows) container.append(table(rows));
  if (result.structuredContent) container.append(jsonTree(result.structuredContent, "structuredContent"));
  return texts.join("\n") || JSON.stringify(result, null, 2);
}
