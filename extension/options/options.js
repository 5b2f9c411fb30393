// The options page: which servers exist and how to reach them, the SQLite database, and the chat model.
// Every change is a host request; the host stores it (secrets in the keychain) and the list refreshes.

import { BridgeClient } from "../shared/bridge-client.js";
import { configGet, llmConfigure, revokeAlwaysAllow, serverFromEditor, serverRemove, sqliteSettings } from "../shared/host-requests.js";

const client = new BridgeClient();
const editor = document.getElementById("editor");
let config = null;

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
  renderAlwaysAllowed(config.servers);
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
  document.getElementById("llm-status").textContent = config.llm.has_api_key ? "An API key is stored." : "No API key stored.";
}

function row(server) {
  const tr = document.createElement("tr");
  tr.dataset.server = server.id;
  const where = server.kind === "remote" ? server.url : server.builtin ? `built-in SQLite: ${server.db_path}` : (server.command ?? []).join(" ");
  for (const value of [server.name, server.kind, where]) {
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(td);
  }
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
  editor.trusted.checked = Boolean(server.trusted);
  toggleKind();
}

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
      command: editor.command.value,
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
  const reply = await client.request(...llmConfigure({ baseUrl: form.base_url.value, model: form.model.value, apiKey: form.api_key.value }));
  form.api_key.value = "";
  document.getElementById("llm-status").textContent = reply.ok
    ? `Saved. ${reply.result.notice ?? (reply.result.has_api_key ? "An API key is stored." : "No API key stored.")}`
    : reply.error.code === "unknown_verb" ? "The host is too old for this setting; update it." : reply.error.message;
});

client.onState((state) => {
  document.getElementById("host").textContent =
    state.host === "connected" ? `Host ${state.hello?.host_version ?? ""} connected` : `Host: ${state.hostError ?? "starting…"}`;
  if (state.host === "connected" && !config) refresh();
});
