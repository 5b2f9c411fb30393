// The Notion forms, drawn: list databases, query one with a property-aware builder (or a pasted Notion API filter),
// create a page in a page or a data source, update a page, comment. Pickers find databases, data sources and pages
// by search and fetch; nobody pastes an id. Used by the tool runner and by the chat panel, which adds "Ask" (send
// the filled request to the model) beside "Run" (call the tool). Everything from a server is set as text.

import { toolCall, toolsList } from "./host-requests.js";
import {
  QUICK_ACTIONS,
  commentArguments,
  compileQuery,
  condition,
  createPageArguments,
  describeWhere,
  fromNotionFilter,
  kindOf,
  listDatabasesArguments,
  operatorsFor,
  queryArguments,
  searchWithinArguments,
  updateContentArguments,
  updatePropertiesArguments,
  uuidOf,
  valueKind,
} from "./notion-quick.js";
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
} from "./notion-results.js";
import { drawTable } from "./result-table-dom.js";

const QUERY_TOOL = "notion-query-data-sources";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

function option(value, label, selected = false) {
  const node = el("option", { value }, label);
  node.selected = selected;
  return node;
}

/**
 * An icon as a node: an emoji as text, or the title's first letter. An image icon shows as the letter too: the
 * extension's pages load no image from the network (img-src 'self' data:), so an <img> of it could only break.
 */
export function iconNode(icon, title = "") {
  const { emoji } = iconOf(icon);
  return el("span", { class: "nf-icon", "aria-hidden": "true" }, emoji ?? (String(title).trim()[0] ?? "?").toUpperCase());
}

function link(url, text) {
  const safe = safeUrl(url);
  return safe ? el("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, text || safe) : el("span", {}, text);
}

/**
 * Rows as a table (the result table every page uses: sortable, counted, copied as CSV or Markdown): the title
 * links to its page in Notion; dates under their property's name; lists joined.
 */
export function rowsTable(rows, schema = {}) {
  const titleName = Object.entries(schema).find(([, p]) => p.type === "title")?.[0];
  const keys = [];
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (key === "url" || key === "createdTime" || /^date:.*:(end|is_datetime)$/.test(key) || keys.includes(key)) continue;
      keys.push(key);
    }
  }
  const label = (key) => key.replace(/^date:(.*):start$/, "$1").replace(/^userDefined:/, "");
  const columns = keys.map(label);
  const titleColumn = label(titleName && keys.includes(titleName) ? titleName : keys[0] ?? "");
  const shown = rows.map((row) => {
    const entry = Object.fromEntries(keys.map((key, i) => [columns[i], cellWords(row[key])]));
    if (row.url && !entry[titleColumn]) entry[titleColumn] = "Untitled";
    entry[PAGE] = safeUrl(row.url ?? "") || null;
    return entry;
  });
  return drawTable({ columns, rows: shown, truncated: false }, { className: "nf-rows", linkOf: (row, column) => (column === titleColumn ? row[PAGE] : null) });
}

const PAGE = Symbol("the row's page in Notion");

function cellWords(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "string" && value.startsWith("[")) {
    try {
      return JSON.parse(value).join(", ");
    } catch {
      return value;
    }
  }
  return String(value);
}

/**
 * The forms for one page. `host`:
 *   client            BridgeClient
 *   server()          the Notion server id to use now, or null (after saying why)
 *   run(server, tool, args)  call a tool the person asked for: the panel shows it as a tool card; resolves the reply
 *   ask(text)         (panel only) send a request to the model as the person's message
 *   problem(text)     show a problem (null clears)
 */
export class NotionForms {
  constructor(root, host) {
    this.root = root;
    this.host = host;
    this.cache = new Map(); // server -> {tools, self, users}
    this.action = null;
    this.pending = null; // what the current form needs before Run: set by each form
  }

  /** Forget what was learned of a server (it reconnected, or its tools changed). */
  forget(server) {
    if (server) this.cache.delete(server);
    else this.cache.clear();
  }

  async call(server, tool, args) {
    const reply = await this.host.client.request(...toolCall(server, tool, args), 130_000);
    if (!reply.ok) throw new Error(reply.error.message);
    const error = toolError(reply.result);
    if (error) throw Object.assign(new Error(error.message), { notion: error });
    return reply.result;
  }

  async about(server) {
    if (!this.cache.has(server)) {
      const entry = (async () => {
        const listed = await this.host.client.request(...toolsList(server));
        const tools = listed.ok ? listed.result.tools.map((t) => t.name) : [];
        let self = null;
        if (tools.includes("notion-fetch")) self = selfInfo(await this.call(server, "notion-fetch", { id: "self" }).catch(() => null));
        return { tools, self };
      })();
      this.cache.set(server, entry);
      entry.catch(() => this.cache.delete(server));
    }
    return this.cache.get(server);
  }

  /** Show the form of `actionId` (one of QUICK_ACTIONS), optionally with a database already picked. */
  async show(actionId, preset = {}) {
    this.action = QUICK_ACTIONS.find((a) => a.id === actionId) ?? null;
    this.root.replaceChildren();
    this.root.dataset.action = actionId ?? "";
    this.host.problem(null);
    if (!this.action) return;
    const server = this.host.server();
    if (!server) return;
    const form = el("div", { class: "nf-form", "data-form": actionId });
    const output = el("div", { class: "nf-output result", "aria-live": "polite" });
    this.root.append(form, output);
    this.output = output;
    const build = { databases: this.databasesForm, query: this.queryForm, create: this.createForm, update: this.updateForm, comment: this.commentForm }[actionId];
    try {
      await build.call(this, form, server, preset);
    } catch (error) {
      this.host.problem(error.message);
    }
  }

  buttons(form, { run, ask, runLabel = "Run" }) {
    const row = el("div", { class: "actions nf-buttons" });
    const runButton = el("button", { type: "button", class: "connect nf-run" }, runLabel);
    runButton.addEventListener("click", () => this.guard(runButton, run));
    row.append(runButton);
    if (this.host.ask && ask) {
      const askButton = el("button", { type: "button", class: "nf-ask", title: "Send this request to the chat model" }, "Ask");
      askButton.addEventListener("click", () => this.guard(askButton, async () => this.host.ask(await ask())));
      row.append(askButton);
    }
    form.append(row);
  }

  async guard(button, fn) {
    this.host.problem(null);
    button.disabled = true;
    try {
      await fn();
    } catch (error) {
      this.host.problem(error.message);
    } finally {
      button.disabled = false;
    }
  }

  workspaceWords(server) {
    return this.host.workspaceName?.(server) ?? server;
  }

  // --- List databases ------------------------------------------------------------------------------------------

  async findDatabases(server, name = "") {
    const args = name ? { query: name, page_size: 25 } : listDatabasesArguments();
    const hits = searchHits(await this.call(server, "notion-search", args)).filter((h) => h.type === "database").slice(0, 20);
    const fetched = await Promise.all(hits.map((hit) => this.call(server, "notion-fetch", { id: hit.url || hit.id }).then(entityOf).catch(() => null)));
    return hits.map((hit, i) => ({ id: hit.id, title: fetched[i]?.title || hit.title || "Untitled", url: hit.url, icon: fetched[i]?.icon ?? null, dataSources: fetched[i]?.dataSources ?? [] }));
  }

  async databasesForm(form, server) {
    const name = el("input", { type: "search", name: "database-name", placeholder: "All databases, or a name to find" });
    form.append(el("label", { class: "field" }, el("span", { class: "label" }, "Databases in " + this.workspaceWords(server)), name));
    this.buttons(form, {
      runLabel: "List",
      run: async () => {
        const args = name.value.trim() ? { query: name.value.trim(), page_size: 25 } : listDatabasesArguments();
        const reply = await this.host.run(server, "notion-search", args);
        if (!reply.ok) throw new Error(reply.error.message);
        this.output.replaceChildren(el("p", { class: "meta" }, "Looking at each database…"));
        this.showDatabases(server, await this.findDatabases(server, name.value.trim()));
      },
      ask: async () => `List my Notion databases in the workspace ${this.workspaceWords(server)}` + (name.value.trim() ? ` whose name contains "${name.value.trim()}"` : "") + ", with their data sources.",
    });
  }

  showDatabases(server, databases) {
    if (!databases.length) {
      this.output.replaceChildren(el("p", { class: "meta" }, "No databases found."));
      return;
    }
    const table = el("table", { class: "rows nf-databases" });
    const head = table.createTHead().insertRow();
    ["", "Database", "Data sources", ""].forEach((h) => head.append(el("th", {}, h)));
    const body = table.createTBody();
    for (const database of databases) {
      const tr = body.insertRow();
      tr.dataset.database = database.title;
      tr.append(
        el("td", {}, iconNode(database.icon, database.title)),
        el("td", {}, link(database.url, database.title)),
        el("td", {}, database.dataSources.map((s) => s.name || "Untitled").join(", ") || "—"),
      );
      const query = el("button", { type: "button", class: "nf-query-this" }, "Query");
      query.addEventListener("click", () => this.show("query", { database }));
      tr.append(el("td", {}, query));
    }
    this.output.replaceChildren(table);
  }

  // --- Query a database ----------------------------------------------------------------------------------------

  async queryForm(form, server, preset) {
    const about = await this.about(server);
    const offered = about.tools.includes(QUERY_TOOL) && accessAllows(about.self, "query_data_sources");
    if (!offered) {
      form.append(el("p", { class: "nf-notice", role: "status" },
        `${this.workspaceWords(server)}'s plan does not offer database queries (${QUERY_TOOL}); the form searches within the database instead, by the words in your conditions.`));
    }
    const databaseSelect = el("select", { name: "database" }, option("", "— choose a database —"));
    const find = el("input", { type: "search", placeholder: "Find a database by name", name: "database-find" });
    const sourceSelect = el("select", { name: "data-source" });
    const sourceLabel = el("label", { class: "field", hidden: true }, el("span", { class: "label" }, "Data source"), sourceSelect);
    const builder = el("div", { class: "nf-builder" });
    form.append(
      el("label", { class: "field" }, el("span", { class: "label" }, "Database"), databaseSelect),
      el("div", { class: "field nf-find" }, find),
      sourceLabel,
      builder,
    );
    let databases = [];
    const fill = (list, chosen) => {
      databases = list;
      databaseSelect.replaceChildren(option("", "— choose a database —"), ...list.map((d, i) => option(String(i), d.title, chosen && d.id === chosen.id)));
    };
    const pickDatabase = () => {
      const database = databases[Number(databaseSelect.value)];
      const sources = database?.dataSources ?? [];
      sourceSelect.replaceChildren(...sources.map((s, i) => option(String(i), s.name || `Data source ${i + 1}`)));
      sourceLabel.hidden = sources.length < 2;
      pickSource();
    };
    const pickSource = () => {
      const database = databases[Number(databaseSelect.value)];
      const source = database?.dataSources?.[Number(sourceSelect.value || 0)];
      builder.replaceChildren();
      this.pending = null;
      if (source) this.buildQuery(builder, server, database, source, offered);
    };
    databaseSelect.addEventListener("change", pickDatabase);
    sourceSelect.addEventListener("change", pickSource);
    find.addEventListener("keydown", async (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      try {
        fill(await this.findDatabases(server, find.value.trim()));
      } catch (error) {
        this.host.problem(error.message);
      }
    });
    if (preset.database) {
      fill([preset.database], preset.database);
      databaseSelect.value = "0";
      pickDatabase();
      // The other databases join the list behind the one already chosen; the form is not redrawn.
      this.findDatabases(server).then((list) => {
        const others = list.filter((d) => d.id !== preset.database.id);
        databaseSelect.append(...others.map((d, i) => option(String(databases.length + i), d.title)));
        databases.push(...others);
      }).catch(() => {});
    } else {
      fill(await this.findDatabases(server));
    }
  }

  buildQuery(box, server, database, source, offered) {
    const schema = source.schema;
    const properties = Object.entries(schema).filter(([, p]) => kindOf(p.type));
    const conditions = el("div", { class: "nf-conditions" });
    const match = el("select", { name: "match" }, option("and", "all of these"), option("or", "any of these"));
    const addCondition = el("button", { type: "button", class: "nf-add-condition" }, "+ Condition");
    const sorts = el("div", { class: "nf-sorts" });
    const addSort = el("button", { type: "button", class: "nf-add-sort" }, "+ Sort");
    const limit = el("input", { type: "number", name: "limit", min: "1", max: "100", value: "25" });
    const useJson = el("input", { type: "checkbox", name: "use-json" });
    const json = el("textarea", { name: "filter-json", rows: "4", spellcheck: "false", placeholder: '{"property": "Status", "status": {"equals": "In Progress"}}', hidden: true });
    useJson.addEventListener("change", () => {
      json.hidden = !useJson.checked;
      conditions.hidden = useJson.checked;
      addCondition.hidden = useJson.checked;
    });
    addCondition.addEventListener("click", () => conditions.append(this.conditionRow(server, schema, properties)));
    addSort.addEventListener("click", () => sorts.append(this.sortRow(properties)));
    box.append(
      el("div", { class: "field nf-match" }, el("span", { class: "label" }, "Rows matching"), match),
      conditions, addCondition,
      el("label", { class: "inline nf-json-toggle" }, useJson, " Paste a filter in the Notion API's JSON instead"),
      json,
      el("div", { class: "field" }, el("span", { class: "label" }, "Sorted by"), sorts, addSort),
      el("label", { class: "field nf-limit" }, el("span", { class: "label" }, "At most (rows)"), limit),
    );

    const read = () => {
      let where = null;
      let sortList = [...sorts.querySelectorAll(".nf-sort")].map((row) => ({ property: row.querySelector("[name=sort-property]").value, direction: row.querySelector("[name=sort-direction]").value })).filter((s) => s.property);
      if (useJson.checked) {
        const parsed = fromNotionFilter(json.value, schema);
        where = parsed.where;
        if (parsed.sorts.length) sortList = parsed.sorts;
      } else {
        const items = [...conditions.querySelectorAll(".nf-condition")].map((row) => row.read()).filter(Boolean);
        where = items.length === 0 ? null : items.length === 1 ? items[0] : { op: match.value, items };
      }
      return { where, sorts: sortList, limit: Number(limit.value || 25) };
    };
    const words = (q) => `${describeWhere(q.where)}${q.sorts.length ? `, sorted by ${q.sorts.map((s) => `${s.property} ${s.direction}`).join(", ")}` : ""}, at most ${q.limit} rows`;
    this.buttons(box, {
      run: async () => {
        const q = read();
        if (!offered) return this.searchInstead(server, source, q.where, schema);
        const args = queryArguments(source.url, compileQuery({ source: source.url, schema, ...q }));
        const reply = await this.host.run(server, QUERY_TOOL, args);
        if (!reply.ok) throw new Error(reply.error.message);
        const error = toolError(reply.result);
        if (isPlanRefusal(error)) {
          this.output.replaceChildren(el("p", { class: "nf-notice", role: "status" }, `${this.workspaceWords(server)}'s plan refused the query: ${error.message} Searching within the database instead.`));
          return this.searchInstead(server, source, q.where, schema, true);
        }
        if (error?.code === "invalid_arguments") {
          throw new Error(`Notion did not take the query in this shape; its tool may have changed (README: "Check against your own Notion"). ${error.message.split("\n")[0]}`);
        }
        if (error) throw new Error(error.message);
        const { rows, hasMore } = queryRows(reply.result);
        this.output.replaceChildren(
          el("p", { class: "meta nf-count" }, `${rows.length} row${rows.length === 1 ? "" : "s"} of ${database.title}${hasMore ? " (more left out)" : ""}`),
          rowsTable(rows, schema),
        );
      },
      ask: async () => {
        const q = read();
        const where = `Query the Notion database "${database.title}"${source.name && source.name !== database.title ? ` (data source "${source.name}")` : ""} in the workspace ${this.workspaceWords(server)}: rows where ${words(q)}.`;
        if (!offered) return `${where} The workspace's plan does not offer ${QUERY_TOOL}; search within ${source.url} instead.`;
        const compiled = compileQuery({ source: source.url, schema, ...q });
        return `${where}\nUse ${QUERY_TOOL} with: ${JSON.stringify(queryArguments(source.url, compiled))}`;
      },
    });
  }

  async searchInstead(server, source, where, schema, quiet = false) {
    const args = searchWithinArguments(source.url, where);
    const reply = await this.host.run(server, "notion-search", args);
    if (!reply.ok) throw new Error(reply.error.message);
    const error = toolError(reply.result);
    if (error) throw new Error(error.message);
    const hits = searchHits(reply.result);
    const note = `Searched ${source.name || "the data source"} for ${args.query ? `"${args.query}"` : "its most recent rows"}; conditions on numbers, dates and checkboxes are not applied by a search.`;
    const rows = hits.map((h) => ({ [Object.keys(schema).find((k) => schema[k].type === "title") ?? "Name"]: h.title, Edited: h.timestamp ?? "", url: h.url }));
    const nodes = [el("p", { class: "meta nf-count" }, `${hits.length} page${hits.length === 1 ? "" : "s"} found. ${note}`), rowsTable(rows, schema)];
    if (quiet) this.output.append(...nodes);
    else this.output.replaceChildren(...nodes);
  }

  conditionRow(server, schema, properties) {
    const row = el("div", { class: "nf-condition" });
    const property = el("select", { name: "property" }, ...properties.map(([name]) => option(name, name)));
    const operator = el("select", { name: "operator" });
    const valueBox = el("span", { class: "nf-value" });
    const remove = el("button", { type: "button", class: "nf-remove", title: "Remove this condition" }, "×");
    let value = () => null;
    const setOperators = () => {
      const spec = { name: property.value, ...schema[property.value] };
      operator.replaceChildren(...operatorsFor(spec).map(([id, label]) => option(id, label)));
      setValue();
    };
    const setValue = () => {
      const spec = { name: property.value, ...schema[property.value] };
      const kind = valueKind(spec, operator.value);
      let input;
      if (kind === "option") input = el("select", { name: "value" }, ...(spec.options ?? []).map((o) => option(o, o)));
      else if (kind === "boolean") input = el("select", { name: "value" }, option("true", "checked"), option("false", "unchecked"));
      else if (kind === "person") {
        input = el("select", { name: "value" }, option("", "— loading people —"));
        this.people(server).then((users) => input.replaceChildren(...users.map((u) => option(u.id, u.name || u.email || u.id)))).catch((error) => this.host.problem(error.message));
      } else if (kind === "none") input = null;
      else input = el("input", { name: "value", type: kind === "number" ? "number" : kind === "date" ? "date" : "text", step: "any" });
      valueBox.replaceChildren(...(input ? [input] : []));
      value = () => (input ? input.value : null);
    };
    property.addEventListener("change", setOperators);
    operator.addEventListener("change", setValue);
    remove.addEventListener("click", () => row.remove());
    setOperators();
    row.read = () => condition(schema, property.value, operator.value, value());
    row.append(property, operator, valueBox, remove);
    return row;
  }

  sortRow(properties) {
    const row = el("div", { class: "nf-sort" });
    const remove = el("button", { type: "button", class: "nf-remove", title: "Remove this sort" }, "×");
    remove.addEventListener("click", () => row.remove());
    row.append(
      el("select", { name: "sort-property" }, ...properties.map(([name]) => option(name, name))),
      el("select", { name: "sort-direction" }, option("ascending", "ascending"), option("descending", "descending")),
      remove,
    );
    return row;
  }

  async people(server) {
    const about = await this.about(server);
    about.users ??= this.call(server, "notion-get-users", {}).then(usersOf);
    return about.users;
  }

  // --- pickers: a page, or a page or data source to put a page in ------------------------------------------------

  /** A search box and a list of what it found; `kinds` "page" or "page-or-database". Resolves choices via onPick. */
  picker(server, label, kinds, onPick) {
    const box = el("div", { class: "field nf-picker" });
    const input = el("input", { type: "search", name: "find", placeholder: "Type a name and press Enter" });
    const list = el("select", { name: "found", size: "5", hidden: true });
    let found = [];
    const search = async () => {
      this.host.problem(null);
      const hits = searchHits(await this.call(server, "notion-search", { query: input.value.trim(), page_size: 20, ...(input.value.trim() ? {} : { sort: "last_edited" }) }));
      found = hits.filter((h) => h.type === "page" || (kinds !== "page" && h.type === "database"));
      list.replaceChildren(...found.map((h, i) => option(String(i), `${h.type === "database" ? "▦ " : ""}${h.title || "Untitled"}`)));
      list.hidden = !found.length;
      if (!found.length) this.host.problem(`Nothing found for "${input.value}"`);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        search().catch((error) => this.host.problem(error.message));
      }
    });
    list.addEventListener("change", () => {
      this.host.problem(null);
      Promise.resolve(onPick(found[Number(list.value)])).catch((error) => this.host.problem(error.message));
    });
    box.append(el("span", { class: "label" }, label), input, list);
    box.search = search;
    return box;
  }

  propertyField(server, name, property, initial) {
    const kind = kindOf(property.type);
    let input;
    if (kind === "select" || kind === "status") input = el("select", { name }, option("", "—"), ...(property.options ?? []).map((o) => option(o, o, o === initial)));
    else if (kind === "multi_select") {
      input = el("select", { name, multiple: true, size: String(Math.min(4, (property.options ?? []).length || 1)) }, ...(property.options ?? []).map((o) => option(o, o, Array.isArray(initial) && initial.includes(o))));
    } else if (kind === "checkbox") {
      input = el("input", { type: "checkbox", name });
      input.checked = initial === "__YES__" || initial === true;
    } else if (kind === "people") {
      input = el("select", { name }, option("", "—"));
      this.people(server).then((users) => input.append(...users.map((u) => option(`user://${u.id}`, u.name || u.email || u.id, Array.isArray(initial) ? initial.includes(`user://${u.id}`) : initial === `user://${u.id}`)))).catch(() => {});
    } else if (kind === "date") {
      input = el("input", { type: "date", name, value: typeof initial === "string" ? initial.slice(0, 10) : "" });
    } else if (kind === "number") input = el("input", { type: "number", step: "any", name, value: initial ?? "" });
    else if (kind === "text") input = el("input", { type: "text", name, value: initial ?? "" });
    else return null;
    const read = () => {
      if (kind === "checkbox") return input.checked;
      if (kind === "multi_select") return [...input.selectedOptions].map((o) => o.value);
      return input.value;
    };
    const field = el("label", { class: "field nf-property", "data-property": name }, el("span", { class: "label" }, `${name} `, el("small", { class: "help" }, property.type)), input);
    field.read = read;
    return field;
  }

  /**
   * Where a new page goes: a page, or a data source of a database (chosen from its data sources when it has
   * several). Calls onChange({kind, id, schema?, label}) on every choice. The node's `.search()` lists recent ones.
   */
  parentPicker(server, label, onChange) {
    const where = el("p", { class: "meta nf-where" }, "Choose where the page goes.");
    const sourceSelect = el("select", { name: "data-source", hidden: true });
    let sources = [];
    const showSource = () => {
      const source = sources[Number(sourceSelect.value || 0)];
      where.textContent = `In the data source ${source.name || "of the database"}.`;
      onChange({ kind: "data_source", id: source.url, schema: source.schema, label: source.name });
    };
    sourceSelect.addEventListener("change", showSource);
    const picker = this.picker(server, label, "page-or-database", async (hit) => {
      sourceSelect.hidden = true;
      if (hit.type === "database") {
        const entity = entityOf(await this.call(server, "notion-fetch", { id: hit.url || hit.id }));
        sources = entity?.dataSources ?? [];
        if (!sources.length) throw new Error(`${hit.title} has no data source to add a page to`);
        sourceSelect.replaceChildren(...sources.map((s, i) => option(String(i), s.name || `Data source ${i + 1}`)));
        sourceSelect.hidden = sources.length < 2;
        showSource();
      } else {
        where.textContent = `Under the page ${hit.title || "Untitled"}.`;
        onChange({ kind: "page", id: hit.id || hit.url, label: hit.title });
      }
    });
    const box = el("div", { class: "nf-parent" }, picker, sourceSelect, where);
    box.search = () => picker.search();
    return box;
  }

  // --- Create a page -------------------------------------------------------------------------------------------

  async createForm(form, server) {
    const fields = el("div", { class: "nf-fields" });
    const title = el("input", { type: "text", name: "title" });
    const markdown = el("textarea", { name: "markdown", rows: "6", placeholder: "Markdown: # Heading, **bold**, - lists…" });
    let parent = null;
    const where = this.parentPicker(server, "Where (a page or a database)", (chosen) => {
      parent = chosen;
      fields.replaceChildren(
        ...(chosen.kind === "data_source"
          ? Object.entries(chosen.schema).filter(([, p]) => p.type !== "title" && !p.readOnly).map(([n, p]) => this.propertyField(server, n, p)).filter(Boolean)
          : []),
      );
    });
    form.append(where, el("label", { class: "field" }, el("span", { class: "label" }, "Title"), title), fields,
      el("label", { class: "field" }, el("span", { class: "label" }, "Content (Markdown)"), markdown));
    const args = () => {
      if (!parent) throw new Error("choose where the page goes");
      const values = Object.fromEntries([...fields.querySelectorAll(".nf-property")].map((f) => [f.dataset.property, f.read()]));
      return createPageArguments({ parent, schema: parent.schema, title: title.value.trim(), values, markdown: markdown.value });
    };
    this.buttons(form, {
      run: async () => {
        const reply = await this.host.run(server, "notion-create-pages", args());
        if (!reply.ok) throw new Error(reply.error.message);
        const error = toolError(reply.result);
        if (error) throw new Error(error.message);
        const made = createdPages(reply.result);
        this.output.replaceChildren(el("p", { class: "nf-created" }, "Created ", link(made[0]?.url, title.value.trim() || "the page"), ` in ${parent.label || "Notion"}.`));
      },
      ask: async () => `Create a Notion page titled "${title.value.trim()}" in ${parent ? `${parent.kind === "page" ? "the page" : "the data source"} "${parent.label}"` : "my workspace"} (workspace ${this.workspaceWords(server)}).\nUse notion-create-pages with: ${JSON.stringify(args())}`,
    });
    where.search().catch(() => {});
  }

  // --- Update a page -------------------------------------------------------------------------------------------

  async updateForm(form, server) {
    const fields = el("div", { class: "nf-fields" });
    const pairs = el("div", { class: "nf-pairs" });
    const addPair = el("button", { type: "button", class: "nf-add-pair" }, "+ Find and replace");
    let page = null;
    let schema = null;
    let initial = {};
    const pairRow = () => {
      const row = el("div", { class: "nf-pair" }, el("textarea", { name: "find", rows: "2", placeholder: "Text to find, exactly as it is in the page" }),
        el("textarea", { name: "replace", rows: "2", placeholder: "What replaces it" }));
      return row;
    };
    addPair.addEventListener("click", () => pairs.append(pairRow()));
    const picker = this.picker(server, "Page", "page", async (hit) => {
      const entity = entityOf(await this.call(server, "notion-fetch", { id: hit.url || hit.id }));
      if (!entity) throw new Error(`${hit.title} could not be read`);
      page = { id: uuidOf(entity.url) ?? hit.id, url: entity.url, title: entity.title };
      schema = null;
      initial = entity.properties ?? {};
      if (entity.dataSourceUrl) {
        const source = entityOf(await this.call(server, "notion-fetch", { id: entity.dataSourceUrl }));
        schema = source?.dataSources?.[0]?.schema ?? null;
      }
      const shown = schema
        ? Object.entries(schema).filter(([, p]) => !p.readOnly).map(([n, p]) => this.propertyField(server, n, p, p.type === "date" ? initial[`date:${n}:start`] : initial[n]))
        : [this.propertyField(server, "title", { type: "title" }, initial.title ?? entity.title)];
      fields.replaceChildren(el("p", { class: "meta" }, "Properties (changed ones are updated):"), ...shown.filter(Boolean));
      pairs.replaceChildren(pairRow());
    });
    form.append(picker, fields, el("div", { class: "field" }, el("span", { class: "label" }, "Content"), pairs, addPair));
    const changes = () => {
      if (!page) throw new Error("choose a page");
      const changed = {};
      for (const field of fields.querySelectorAll(".nf-property")) {
        const name = field.dataset.property;
        const now = field.read();
        const type = schema?.[name]?.type;
        const before = kindOf(type) === "date" ? (initial[`date:${name}:start`] ?? "").slice(0, 10) : initial[name];
        const sorted = (list) => JSON.stringify([...(list ?? [])].map(String).sort());
        const same = Array.isArray(now) ? sorted(now) === sorted(Array.isArray(before) ? before : before ? [before] : [])
          : typeof now === "boolean" ? now === (before === "__YES__") : String(now ?? "") === String(before ?? "");
        if (!same) changed[name] = now;
      }
      const found = [...pairs.querySelectorAll(".nf-pair")].map((row) => ({ find: row.querySelector("[name=find]").value, replace: row.querySelector("[name=replace]").value })).filter((p) => p.find);
      return { changed, found };
    };
    this.buttons(form, {
      run: async () => {
        const { changed, found } = changes();
        if (!Object.keys(changed).length && !found.length) throw new Error("nothing to change: edit a property or give text to find");
        const done = [];
        if (Object.keys(changed).length) {
          const reply = await this.host.run(server, "notion-update-page", updatePropertiesArguments(page.id, schema, changed));
          if (!reply.ok) throw new Error(reply.error.message);
          const error = toolError(reply.result);
          if (error) throw new Error(error.message);
          done.push(`${Object.keys(changed).length} propert${Object.keys(changed).length === 1 ? "y" : "ies"}`);
        }
        if (found.length) {
          const reply = await this.host.run(server, "notion-update-page", updateContentArguments(page.id, found));
          if (!reply.ok) throw new Error(reply.error.message);
          const error = toolError(reply.result);
          if (error) throw new Error(error.message);
          done.push(`${found.length} replacement${found.length === 1 ? "" : "s"}`);
        }
        this.output.replaceChildren(el("p", { class: "nf-updated" }, "Updated ", link(page.url, page.title), `: ${done.join(" and ")}.`));
      },
      ask: async () => {
        const { changed, found } = changes();
        const parts = [];
        if (Object.keys(changed).length) parts.push(`notion-update-page with: ${JSON.stringify(updatePropertiesArguments(page.id, schema, changed))}`);
        if (found.length) parts.push(`notion-update-page with: ${JSON.stringify(updateContentArguments(page.id, found))}`);
        return `Update the Notion page "${page.title}" (workspace ${this.workspaceWords(server)}).\nUse ${parts.join("\nthen ")}`;
      },
    });
    picker.search().catch(() => {});
  }

  // --- Comment -------------------------------------------------------------------------------------------------

  async commentForm(form, server) {
    let page = null;
    const chosen = el("p", { class: "meta" }, "Choose a page.");
    const text = el("textarea", { name: "comment", rows: "3", placeholder: "Your comment (Markdown: **bold**, links)" });
    const picker = this.picker(server, "Page", "page", (hit) => {
      page = hit;
      chosen.textContent = `On ${hit.title || "the page"}.`;
    });
    form.append(picker, chosen, el("label", { class: "field" }, el("span", { class: "label" }, "Comment"), text));
    const args = () => {
      if (!page) throw new Error("choose a page");
      return commentArguments(page.id || page.url, text.value);
    };
    this.buttons(form, {
      run: async () => {
        const reply = await this.host.run(server, "notion-create-comment", args());
        if (!reply.ok) throw new Error(reply.error.message);
        const error = toolError(reply.result);
        if (error) throw new Error(error.message);
        this.output.replaceChildren(el("p", { class: "nf-commented" }, "Commented on ", link(page.url, page.title), "."));
      },
      ask: async () => `Comment on the Notion page "${page?.title ?? ""}" (workspace ${this.workspaceWords(server)}).\nUse notion-create-comment with: ${JSON.stringify(args())}`,
    });
    picker.search().catch(() => {});
  }
}
