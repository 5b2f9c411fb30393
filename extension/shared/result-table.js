// A tool's result as a table, without the DOM: which results are tabular, their columns and rows, whether the
// server cut them short, sorting, the window of rows a scrolled view needs, and CSV / Markdown copies.
// result-table-dom.js draws it (the tool runner's result and the chat's tool cards alike).

/** Rows of objects in `structured` (the first such list among its values), Notion's `properties` unwrapped. */
function rowsIn(structured) {
  if (!structured || typeof structured !== "object" || Array.isArray(structured)) return null;
  for (const value of Object.values(structured)) {
    if (Array.isArray(value) && value.length && value.every((row) => row && typeof row === "object" && !Array.isArray(row))) {
      return value.map((row) => (row.properties && typeof row.properties === "object" ? row.properties : row));
    }
  }
  return null;
}

/** The JSON object a result's text holds (Notion's tools answer JSON in text), or null. */
export function textJson(result) {
  for (const block of result?.content ?? []) {
    if (block?.type !== "text") continue;
    try {
      const value = JSON.parse(block.text);
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // not JSON
    }
  }
  return null;
}

/**
 * The table in a tool's result, or null when it holds none: `{columns, rows, truncated, truncatedBy}`.
 * `structuredContent` with `columns` and `rows` (the SQLite server's shape) keeps its column order, even with no
 * rows; otherwise the first list of objects in the structured content, or in JSON text (not for an error).
 */
export function tableOf(result) {
  if (!result || typeof result !== "object") return null;
  const structured = result.structuredContent;
  if (structured && Array.isArray(structured.columns) && Array.isArray(structured.rows)) {
    const columns = structured.columns.map(String);
    const rows = structured.rows.map((row) => (Array.isArray(row) ? Object.fromEntries(columns.map((c, i) => [c, row[i]])) : row ?? {}));
    return { columns, rows, truncated: Boolean(structured.truncated), truncatedBy: structured.truncated_by ?? null };
  }
  const rows = rowsIn(structured) ?? (result.isError ? null : rowsIn(textJson(result)));
  if (!rows) return null;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const from = structured && rowsIn(structured) ? structured : textJson(result) ?? {};
  const truncated = Boolean(from.truncated || from.has_more);
  return { columns, rows, truncated, truncatedBy: from.truncated_by ?? (from.has_more ? "more" : null) };
}

/** A cell's value as text: nothing for null, JSON for objects and lists. */
export function cellText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Compare two cells: numbers as numbers, text naturally ("a2" < "a10"), empty cells last either way. */
function compare(a, b) {
  const emptyA = a === null || a === undefined || a === "";
  const emptyB = b === null || b === undefined || b === "";
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return collator.compare(cellText(a), cellText(b));
}

/**
 * The rows sorted by `column` ("asc" or "desc"; anything else: as the server gave them). Stable: equal cells keep
 * the server's order. Empty cells go last in both directions. Returns a new array.
 */
export function sortRows(rows, column, direction) {
  const order = rows.map((row, index) => ({ row, index }));
  if (direction !== "asc" && direction !== "desc") return rows.slice();
  const sign = direction === "desc" ? -1 : 1;
  order.sort((x, y) => {
    const a = x.row[column];
    const b = y.row[column];
    const emptyA = a === null || a === undefined || a === "";
    const emptyB = b === null || b === undefined || b === "";
    if (emptyA !== emptyB) return emptyA ? 1 : -1;
    return sign * compare(a, b) || x.index - y.index;
  });
  return order.map((entry) => entry.row);
}

/** The next direction for a header clicked again: none → ascending → descending → none. */
export function nextDirection(direction) {
  return direction === "asc" ? "desc" : direction === "desc" ? null : "asc";
}

/** A CSV field: quoted when it must be; text a spreadsheet would run as a formula (=, +, -, @) starts with '. */
function csvField(value) {
  let text = cellText(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The table as CSV (RFC 4180: CRLF between records, a header line first). */
export function toCsv({ columns, rows }) {
  return [columns, ...rows.map((row) => columns.map((c) => row[c]))].map((line) => line.map(csvField).join(",")).join("\r\n");
}

function markdownCell(value) {
  return cellText(value).replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

/** The table as GitHub-flavoured Markdown; pipes are escaped and line breaks become <br>. */
export function toMarkdown({ columns, rows }) {
  const head = `| ${columns.map(markdownCell).join(" | ")} |`;
  const rule = `| ${columns.map(() => "---").join(" | ")} |`;
  return [head, rule, ...rows.map((row) => `| ${columns.map((c) => markdownCell(row[c])).join(" | ")} |`)].join("\n");
}

/** "3 rows", "1 row", "no rows"; with ", truncated" when the server cut the result short. */
export function countWords({ rows, truncated }) {
  const n = rows.length;
  const count = n === 0 ? "no rows" : `${n.toLocaleString("en-US")} row${n === 1 ? "" : "s"}`;
  return truncated ? `${count}, truncated` : count;
}

/**
 * Which rows a scrolled view draws: those in view plus `overscan` either side, and the space to leave above and
 * below them so the scroll bar stays true. Rows are `rowHeight` pixels high.
 */
export function visibleWindow({ scrollTop, viewport, rowHeight, count, overscan = 10 }) {
  const first = Math.max(0, Math.floor(Math.max(0, scrollTop) / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((Math.max(0, scrollTop) + viewport) / rowHeight) + overscan);
  const start = Math.min(first, count);
  const end = Math.max(start, last);
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}

/**
 * A tool result in one line, for a compact card: "12 rows", "error: …", or the first line of its text, cut at
 * `max` characters.
 */
export function resultSummary(result, max = 80) {
  if (!result) return "";
  const table = result.isError ? null : tableOf(result);
  if (table) return countWords(table);
  const text = (result.content ?? []).filter((b) => b?.type === "text").map((b) => b.text).join(" ").trim();
  const others = (result.content ?? []).filter((b) => b?.type !== "text").map((b) => b?.type ?? "content");
  let line = text.split(/\r?\n/).find((l) => l.trim())?.trim() ?? (others.length ? others.join(", ") : "(empty)");
  if (line.length > max) line = `${line.slice(0, max - 1)}…`;
  return result.isError ? `error: ${line}` : line;
}
