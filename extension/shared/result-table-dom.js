// Draws a table model (result-table.js): a header that sorts when clicked, the row count and whether the server
// cut the result short, Copy CSV / Copy Markdown, and, past a few hundred rows, only the rows in view (the rest are
// drawn as the person scrolls). Every cell is text; only an https address becomes a link (a new tab, no opener).

import { cellText, countWords, nextDirection, sortRows, toCsv, toMarkdown, visibleWindow } from "./result-table.js";

/** Past this many rows the table draws only what is in view. */
export const VIRTUAL_FROM = 200;
const ROW_HEIGHT = 26; // px: the row height the virtual view keeps every row at (render-result.css)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function cellNode(value, href = null) {
  const text = cellText(value);
  const td = el("td");
  const address = href && /^https?:\/\/[^\s]+$/.test(href) ? href : typeof value === "string" && /^https:\/\/[^\s]+$/.test(value) ? value : null;
  if (address) {
    const link = el("a", "", text || address);
    link.href = address;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    td.append(link);
  } else td.textContent = text;
  td.title = text.length > 40 ? text : "";
  return td;
}

function spacer(columns, height) {
  const tr = el("tr", "spacer");
  tr.setAttribute("aria-hidden", "true");
  const td = el("td");
  td.colSpan = Math.max(1, columns);
  td.style.height = `${height}px`;
  tr.append(td);
  return tr;
}

async function copy(button, text, label) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => (button.textContent = label), 1500);
}

/**
 * The node for `model` ({columns, rows, truncated, truncatedBy}): a bar with the count and the copy buttons, then a
 * scrolling table. Its root carries data-rows (the rows the result holds); the virtual view also data-virtual.
 * `linkOf(row, column)` may give a cell an address to link to (only http(s) is taken); `className` marks the table.
 */
export function drawTable(model, { className = "", linkOf = null } = {}) {
  const root = el("div", "result-table");
  root.dataset.rows = String(model.rows.length);
  const bar = el("div", "table-bar");
  const count = el("span", "count", countWords(model));
  count.setAttribute("role", "status");
  if (model.truncated) {
    const why = model.truncatedBy === "bytes" ? "the result reached its size limit" : model.truncatedBy === "rows" ? "the result reached its row limit" : "the server has more";
    count.title = `Truncated: ${why}; not every row is here.`;
    count.classList.add("truncated");
  }
  bar.append(count);
  for (const [label, make] of [["Copy CSV", toCsv], ["Copy Markdown", toMarkdown]]) {
    const button = el("button", "copy-table", label);
    button.type = "button";
    button.addEventListener("click", () => copy(button, make({ columns: model.columns, rows: shown }), label));
    bar.append(button);
  }
  const scroller = el("div", "table-scroll");
  scroller.tabIndex = 0; // a scrolling region is reachable with the keyboard
  scroller.setAttribute("role", "region");
  scroller.setAttribute("aria-label", `Result table, ${countWords(model)}`);
  const table = el("table", `rows ${className}`.trim());
  const virtual = model.rows.length > VIRTUAL_FROM;
  if (virtual) {
    root.dataset.virtual = "true";
    table.classList.add("virtual");
  }
  const headRow = table.createTHead().insertRow();
  const body = table.createTBody();
  let shown = model.rows;
  let sorted = { column: null, direction: null };

  const headers = model.columns.map((column) => {
    const th = el("th");
    th.scope = "col";
    const button = el("button", "sort", column);
    button.type = "button";
    button.title = `Sort by ${column}`;
    button.addEventListener("click", () => {
      const direction = sorted.column === column ? nextDirection(sorted.direction) : "asc";
      sorted = { column: direction ? column : null, direction };
      shown = sortRows(model.rows, column, direction);
      headers.forEach((h) => h.removeAttribute("aria-sort"));
      if (direction) th.setAttribute("aria-sort", direction === "asc" ? "ascending" : "descending");
      draw(true);
    });
    th.append(button);
    headRow.append(th);
    return th;
  });

  let drawn = "";
  function draw(force = false) {
    if (!virtual) {
      body.replaceChildren(...shown.map(rowNode));
      return;
    }
    // Before the table is laid out (not yet in the page, or hidden) a screenful is assumed.
    const viewport = scroller.clientHeight || 400;
    const range = visibleWindow({ scrollTop: scroller.scrollTop, viewport, rowHeight: ROW_HEIGHT, count: shown.length });
    const key = `${range.start}:${range.end}`;
    if (!force && key === drawn) return;
    drawn = key;
    const rows = shown.slice(range.start, range.end).map(rowNode);
    body.replaceChildren(...(range.before ? [spacer(model.columns.length, range.before)] : []), ...rows, ...(range.after ? [spacer(model.columns.length, range.after)] : []));
  }

  function rowNode(row) {
    const tr = el("tr");
    for (const column of model.columns) tr.append(cellNode(row[column], linkOf?.(row, column) ?? null));
    return tr;
  }

  if (virtual) {
    let queued = false;
    scroller.addEventListener("scroll", () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        draw();
      });
    });
    // Once laid out, the real height of the view decides how many rows it needs.
    if (typeof ResizeObserver === "function") new ResizeObserver(() => draw()).observe(scroller);
  }
  draw(true);
  scroller.append(table);
  root.append(bar, scroller);
  return root;
}
