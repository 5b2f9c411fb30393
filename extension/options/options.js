// The options page: which servers exist and how to reach them (with their custom headers, client secret and
// roots), the tools switched off, servers brought from another app, the SQLite database, and the chat model.
// Every change is a host request; the host stores it (secrets in the keychain) and the list refreshes.

import { BridgeClient } from "../shared/bridge-client.js";
import {
  configGet,
  llmConfigure,
  llmModels,
  revokeAlwaysAllow,
  serverFromEditor,
  serverRemove,
  serversImport,
  setDisabledTools,
  sqliteSettings,
  toolsList,
} from "../shared/host-requests.js";

const client = new BridgeClient();
const editor = document.getElementById("editor");
let config = null;
let connected = []; // status entries of the connected servers

function show(id, message) {
  const node = document.getElementById(id);
  node.hidden = !message;
  node.textContent = message ?? "";
}

async function refresh() {
  const reply = await client.request(...configGet());
  if (!reply.ok) return;
  config = reply.result;
  const body = document.querySelector("#servers tbody");
  // Redraw only when something changed, so a button the person is about to press is not replaced under them.
  const signature = JSON.stringify(config.servers);
  if (body.dataset.signature !== signature) {
    body.dataset.signature = signature;
    body.replaceChildren(...config.servers.map(row));
  }
  showStates();
  renderAlwaysAllowed(config.servers);
  renderToolSwitches();
  const sqlite = config.servers.find((s) => s.builtin === "sqlite");
  const sqliteForm = document.getElementById("sqlite");
  sqliteForm.hidden = !sqlite;
  if (sqlite) {
    sqliteForm.db_path.value = sqlite.db_path ?? "";
    sqliteForm.allow_writes.checked = sqlite.allow_writes;
  }
  const llm = document.getElementById("llm");
  llm.base_url.value = config.llm.base_url;
  llm.model.value = config.llm.model;
  llm.context_length.value = config.llm.context_lengths?.[config.llm.model] ?? "";
  llm.summarize.checked = Boolean(config.llm.summarize);
  llm.system_prompt.value = config.llm.system_prompt ?? config.llm.default_system_prompt ?? "";
  document.getElementById("llm-status").textContent = config.llm.has_api_key ? "An API key is stored." : "No API key stored.";
  loadModels();
}

// --- the model picker: the endpoint's model list, searchable, tool-capable models unless asked for all --------

let models = [];
let defaultModel = null;

/** "$0.15" per million tokens, "free", or "—" when the endpoint does not say. */
function perMillion(price) {
  if (price === null || price === undefined) return "—";
  if (price === 0) return "free";
  const value = price * 1_000_000;
  return `$${value < 1 ? value.toFixed(3) : value.toFixed(2)}`;
}

function contextWords(size) {
  if (!size) return "—";
  return size >= 1000 ? `${Math.round(size / 1000).toLocaleString("en-US")}K` : String(size);
}

async function loadModels(fresh = false) {
  const llm = document.getElementById("llm");
  const status = document.getElementById("models-status");
  status.textContent = "Asking the endpoint for its models…";
  const reply = await client.request(...llmModels({ baseUrl: llm.base_url.value, fresh }), 20_000);
  if (!reply.ok) {
    models = [];
    status.textContent = reply.error.message;
  } else {
    models = reply.result.models;
    defaultModel = reply.result.default_model;
    status.textContent = reply.result.error ? `No model list: ${reply.result.error}. Type the model's name above.` : "";
    if (!llm.model.value && defaultModel) llm.model.value = defaultModel;
  }
  showModels();
}

function showModels() {
  const llm = document.getElementById("llm");
  const words = document.getElementById("model-search").value.trim().toLowerCase();
  const all = document.getElementById("all-models").checked;
  const shown = models.filter(
    (m) => (all || m.tools !== false) && (!words || m.id.toLowerCase().includes(words) || m.name.toLowerCase().includes(words)),
  );
  const rows = shown.slice(0, 300).map((model) => {
    const tr = document.createElement("tr");
    tr.dataset.model = model.id;
    tr.classList.toggle("chosen", model.id === llm.model.value);
    const name = document.createElement("td");
    name.append(model.name);
    if (model.name !== model.id) name.append(document.createElement("br"), Object.assign(document.createElement("span"), { className: "id", textContent: model.id }));
    if (model.id === defaultModel) name.append(" (default)");
    if (model.tools === null) name.title = "The endpoint does not say whether this model can use tools.";
    const context = Object.assign(document.createElement("td"), { textContent: contextWords(model.context_length) });
    const price = Object.assign(document.createElement("td"), {
      textContent: model.prompt_price === null && model.completion_price === null ? "—" : `${perMillion(model.prompt_price)} / ${perMillion(model.completion_price)}`,
    });
    tr.append(name, context, price);
    tr.addEventListener("click", () => {
      llm.model.value = model.id;
      llm.context_length.value = config?.llm.context_lengths?.[model.id] ?? "";
      showModels();
    });
    return tr;
  });
  document.querySelector("#models tbody").replaceChildren(...rows);
  const hidden = models.length - models.filter((m) => m.tools !== false).length;
  if (models.length) {
    document.getElementById("models-status").textContent =
      `${shown.length} of ${models.length} models${!all && hidden ? `; ${hidden} that cannot use tools are hidden` : ""}${shown.length > 300 ? "; search to see the rest" : ""}.`;
  }
}

document.getElementById("model-search").addEventListener("input", showModels);
document.getElementById("all-models").addEventListener("change", showModels);
document.getElementById("refresh-models").addEventListener("click", () => loadModels(true));
document.getElementById("llm").base_url.addEventListener("change", () => loadModels());
document.getElementById("llm").model.addEventListener("input", showModels);
document.getElementById("reset-prompt").addEventListener("click", () => {
  document.getElementById("llm").system_prompt.value = config?.llm.default_system_prompt ?? "";
});

function row(server) {
  const tr = document.createElement("tr");
  tr.dataset.server = server.id;
  // A database is named by its file; the whole path (long, and the same folder for most people) is on hover and in Edit.
  const databaseFile = server.builtin ? String(server.db_path ?? "").split(/[\\/]/).pop() : "";
  const where = server.kind === "remote" ? server.url : server.builtin ? `built-in SQLite: ${databaseFile}` : (server.command ?? []).join(" ");
  for (const value of [server.name, server.kind, where]) {
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(td);
  }
  if (server.builtin) tr.lastElementChild.title = server.db_path ?? "";
  // Its live state, as the popup's badge shows it (updated in place as the host reports changes).
  const state = document.createElement("td");
  state.append(Object.assign(document.createElement("span"), { className: "badge" }));
  tr.append(state);
  const actions = document.createElement("td");
  const edit = Object.assign(document.createElement("button"), { type: "button", textContent: "Edit", className: "edit" });
  edit.addEventListener("click", () => load(server));
  const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove", className: "remove" });
  remove.addEventListener("click", async () => {
    if (!confirm(`Remove ${server.name}?`)) return;
    const reply = await client.request(...serverRemove(server.id));
    if (!reply.ok) show("editor-error", reply.error.message);
    refresh();
  });
  actions.append(edit, remove);
  tr.append(actions);
  return tr;
}

function renderAlwaysAllowed(servers) {
  const list = document.getElementById("always");
  const items = servers.flatMap((server) =>
    (server.always_allow ?? []).map((tool) => {
      const li = document.createElement("li");
      li.dataset.tool = `${server.id}.${tool}`;
      li.textContent = `${server.name}: ${tool} `;
      const revoke = Object.assign(document.createElement("button"), { type: "button", textContent: "Revoke" });
      revoke.addEventListener("click", async () => {
        await client.request(...revokeAlwaysAllow(server, tool));
        refresh();
      });
      li.append(revoke);
      return li;
    }),
  );
  list.replaceChildren(...items);
  document.getElementById("always-empty").hidden = items.length > 0;
}

function load(server) {
  document.getElementById("editor-title").textContent = `Edit ${server.name}`;
  editor.id.value = server.id;
  editor.name.value = server.name;
  editor.kind.value = server.kind;
  editor.kind.disabled = true;
  editor.url.value = server.url ?? "";
  editor.transport.value = server.transport ?? "auto";
  editor.client_id.value = server.client_id ?? "";
  editor.command.value = (server.command ?? []).join(" ");
  editor.roots.value = (server.roots ?? []).join("\n");
  editor.client_secret.value = "";
  editor.trusted.checked = Boolean(server.trusted);
  document.getElementById("header-rows").replaceChildren(...(server.header_names ?? []).map((name) => headerRow(name, true)));
  toggleKind();
}

/** One header of the editor: a stored one shows its name and a masked value, kept unless retyped or removed. */
function headerRow(name = "", stored = false) {
  const row = document.createElement("div");
  row.className = "header-row";
  row.dataset.stored = stored ? "true" : "false";
  const nameInput = Object.assign(document.createElement("input"), { type: "text", placeholder: "Header name", value: name, className: "header-name" });
  nameInput.readOnly = stored;
  const valueInput = Object.assign(document.createElement("input"), {
    type: "password",
    autocomplete: "off",
    className: "header-value",
    placeholder: stored ? "•••••••• (kept; type to replace)" : "value",
  });
  const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove", className: "remove-header" });
  remove.addEventListener("click", () => {
    if (stored) {
      row.dataset.removed = "true";
      row.hidden = true;
    } else row.remove();
  });
  row.append(nameInput, valueInput, remove);
  return row;
}

/** The editor's headers as server.update wants them: new values, and "" for the removed. */
function editedHeaders() {
  const headers = {};
  for (const row of document.querySelectorAll("#header-rows .header-row")) {
    const name = row.querySelector(".header-name").value.trim();
    const value = row.querySelector(".header-value").value;
    if (!name) continue;
    if (row.dataset.removed === "true") headers[name] = "";
    else if (value) headers[name] = value;
  }
  return headers;
}

document.getElementById("add-header").addEventListener("click", () => document.getElementById("header-rows").append(headerRow()));

function toggleKind() {
  editor.querySelector(".remote").hidden = editor.kind.value !== "remote";
  editor.querySelector(".stdio").hidden = editor.kind.value !== "stdio";
}

editor.kind.addEventListener("change", toggleKind);
editor.addEventListener("reset", () => {
  // A hidden input keeps a value set by script through a form reset: without this, the next "Add a server"
  // would update the server edited last.
  editor.id.value = "";
  editor.kind.disabled = false;
  document.getElementById("header-rows").replaceChildren();
  document.getElementById("editor-title").textContent = "Add a server";
  setTimeout(toggleKind);
  show("editor-error", null);
  show("editor-notice", null);
});

editor.addEventListener("submit", async (event) => {
  event.preventDefault();
  let change;
  try {
    change = serverFromEditor({
      id: editor.id.value,
      name: editor.name.value,
      kind: editor.kind.value,
      trusted: editor.trusted.checked,
      url: editor.url.value,
      transport: editor.transport.value,
      clientId: editor.client_id.value,
      clientSecret: editor.client_secret.value,
      command: editor.command.value,
      headers: editedHeaders(),
      roots: editor.roots.value,
    });
  } catch (error) {
    show("editor-error", error.message);
    return;
  }
  const reply = await client.request(...change);
  if (!reply.ok) {
    show("editor-error", reply.error.message);
    return;
  }
  editor.reset();
  if (reply.result.reidentified) show("editor-notice", `${reply.result.name} now points somewhere else: it was signed out and its allowed tools and trust were forgotten.`);
  refresh();
});

document.getElementById("sqlite").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const sqlite = config?.servers.find((s) => s.builtin === "sqlite");
  if (!sqlite) return;
  const reply = await client.request(...sqliteSettings(sqlite.id, { dbPath: form.db_path.value, allowWrites: form.allow_writes.checked }));
  show("sqlite-error", reply.ok ? null : reply.error.message);
  refresh();
});

document.getElementById("llm").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  let request;
  try {
    request = llmConfigure({
      baseUrl: form.base_url.value,
      model: form.model.value,
      apiKey: form.api_key.value,
      systemPrompt: form.system_prompt.value,
      defaultPrompt: config?.llm.default_system_prompt,
      contextLength: form.context_length.value,
      summarize: form.summarize.checked,
    });
  } catch (error) {
    document.getElementById("llm-status").textContent = error.message;
    return;
  }
  const reply = await client.request(...request);
  form.api_key.value = "";
  if (reply.ok) await refresh(); // read again, with what the host stored
  document.getElementById("llm-status").textContent = reply.ok
    ? `Saved. ${reply.result.notice ?? (reply.result.has_api_key ? "An API key is stored." : "No API key stored.")}`
    : reply.error.code === "unknown_verb" ? "The host is too old for this setting; update it." : reply.error.message;
});

// --- tools switched off ------------------------------------------------------------------------------------------

async function renderToolSwitches() {
  const box = document.getElementById("tool-switches");
  const sections = [];
  for (const status of connected) {
    const server = config?.servers.find((s) => s.id === status.id);
    if (!server) continue;
    const reply = await client.request(...toolsList(server.id, { includeDisabled: true }));
    if (!reply.ok) continue;
    const section = document.createElement("div");
    section.className = "server-tools";
    section.dataset.server = server.id;
    section.append(Object.assign(document.createElement("strong"), { textContent: status.name ?? server.name }));
    const off = new Set(reply.result.disabled);
    for (const tool of reply.result.tools) {
      const label = document.createElement("label");
      label.className = "inline";
      const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: !off.has(tool.name) });
      box.dataset.tool = tool.name;
      box.addEventListener("change", async () => {
        const now = [...section.querySelectorAll("input[data-tool]")].filter((b) => !b.checked).map((b) => b.dataset.tool);
        const answer = await client.request(...setDisabledTools(server.id, now));
        if (!answer.ok) {
          box.checked = !box.checked;
          show("editor-error", answer.error.message);
        }
      });
      label.append(box, document.createTextNode(` ${tool.title ?? tool.name}`));
      section.append(label);
    }
    sections.push(section);
  }
  // Redraw only when the servers shown changed: a checkbox the person is about to press stays under them.
  const signature = sections.map((s) => `${s.dataset.server}:${s.querySelectorAll("input").length}`).join(",");
  if (box.dataset.signature !== signature) {
    box.dataset.signature = signature;
    box.replaceChildren(...sections);
  }
}

// --- bringing servers from another app ---------------------------------------------------------------------------

const importForm = document.getElementById("import");
let importText = "";

importForm.file.addEventListener("change", async () => {
  const [file] = importForm.file.files;
  if (file) importForm.text.value = await file.text();
});

importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  importText = importForm.text.value;
  show("import-done", null);
  const reply = await client.request(...serversImport(importText));
  const preview = document.getElementById("import-preview");
  if (!reply.ok) {
    preview.hidden = true;
    return show("import-error", reply.error.message);
  }
  show("import-error", null);
  const rows = reply.result.servers.map((server) => {
    const tr = document.createElement("tr");
    tr.dataset.name = server.name;
    if (server.skipped) tr.className = "skipped";
    const what = server.skipped ? `skipped: ${server.skipped}` : (server.url ?? (server.command ?? []).join(" "));
    const keychain = [...(server.header_names ?? []), ...(server.secret_env ?? [])].join(", ");
    for (const value of [server.id ? `${server.name} (${server.id})` : server.name, server.kind ?? "", what, keychain, (server.notes ?? []).join("; ")]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: value }));
    }
    return tr;
  });
  document.querySelector("#import-table tbody").replaceChildren(...rows);
  const adding = reply.result.servers.filter((s) => !s.skipped).length;
  const apply = document.getElementById("import-apply");
  apply.textContent = adding ? `Add ${adding} server${adding === 1 ? "" : "s"}` : "Nothing to add";
  apply.disabled = adding === 0;
  preview.hidden = false;
});

document.getElementById("import-apply").addEventListener("click", async () => {
  const reply = await client.request(...serversImport(importText, true), 60_000);
  if (!reply.ok) return show("import-error", reply.error.message);
  document.getElementById("import-preview").hidden = true;
  importForm.text.value = "";
  show("import-done", `Added ${reply.result.added.map((s) => s.name).join(", ") || "nothing"}.`);
  refresh();
});

const STATE_WORDS = { disabled: "Disconnected", connecting: "Connecting", connected: "Connected", error: "Error", needs_auth: "Needs auth" };
let states = new Map(); // server id -> its state, from the host's status

/** Each server row's badge, from the latest status: the same words and colours as the popup's cards. */
function showStates() {
  for (const tr of document.querySelectorAll("#servers tbody tr")) {
    const badge = tr.querySelector(".badge");
    const state = states.get(tr.dataset.server) ?? "offline";
    badge.className = `badge ${state}`;
    badge.textContent = STATE_WORDS[state] ?? "Host offline";
  }
}

client.onState((state) => {
  states = new Map((state.host === "connected" ? (state.status?.servers ?? []) : []).map((s) => [s.id, s.state]));
  showStates();
});

client.onState((state) => {
  const servers = state.host === "connected" ? (state.status?.servers ?? []) : [];
  const now = servers.filter((s) => s.state === "connected");
  const changed = now.map((s) => `${s.id}:${s.tools}`).join(",") !== connected.map((s) => `${s.id}:${s.tools}`).join(",");
  connected = now;
  if (changed && config) renderToolSwitches();
});

client.onState((state) => {
  document.getElementById("host").textContent =
    state.host === "connected" ? `Host ${state.hello?.host_version ?? ""} connected` : `Host: ${state.hostError ?? "starting…"}`;
  if (state.host === "connected" && !config) refresh();
});
