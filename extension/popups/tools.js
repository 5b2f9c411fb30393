// The tool runner: pick a server and a tool, fill the form generated from its inputSchema, see the result.

import { BridgeClient } from "../shared/bridge-client.js";
import { toolCall, toolsList } from "../shared/host-requests.js";
import { NotionForms } from "../shared/notion-forms.js";
import { quickActionsFor } from "../shared/notion-quick.js";
import { renderResult } from "../shared/render-result.js";
import { formModel, prune, validate } from "../shared/schema-form.js";
import { renderForm } from "../shared/schema-form-dom.js";

const client = new BridgeClient();
const serverSelect = document.getElementById("server");
const toolSelect = document.getElementById("tool");
const problems = document.getElementById("problems");
const quickSelect = document.getElementById("quick");
let tools = [];
let quick = [];
let readForm = () => ({});
let copyText = "";
let running = null; // the id of the tool.call in flight, which Stop cancels
let latestServers = [];
const quickProblem = document.getElementById("quick-problem");
// The Notion forms draw themselves (pickers, a query builder); the generic form steps aside while one is shown.
const forms = new NotionForms(document.getElementById("quick-area"), {
  client,
  server: () => serverSelect.value || null,
  run: (server, tool, args) => client.request(...toolCall(server, tool, args), 130_000),
  problem: (message) => {
    quickProblem.hidden = !message;
    quickProblem.textContent = message ?? "";
  },
  workspaceName: (server) => {
    const entry = latestServers.find((s) => s.id === server);
    return entry?.workspace?.name ?? entry?.name ?? server;
  },
});

function option(value, label) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  return node;
}

function showProblems(lines) {
  problems.hidden = lines.length === 0;
  problems.textContent = lines.join("\n");
}

// The server named in the URL wins until the person picks one: it may connect after the page opened.
let personChoseServer = false;

client.onState((state) => {
  // Without a host no server is connected, whatever the last status said.
  const servers = state.host === "connected" ? (state.status?.servers ?? []) : [];
  latestServers = servers;
  const connected = servers.filter((s) => s.state === "connected");
  const wanted = new URLSearchParams(location.search).get("server");
  const current = personChoseServer ? serverSelect.value : (wanted ?? serverSelect.value);
  const ids = connected.map((s) => s.id).join(",");
  if (serverSelect.dataset.ids === ids) return;
  const shown = serverSelect.value;
  serverSelect.dataset.ids = ids;
  serverSelect.replaceChildren(...connected.map((s) => option(s.id, s.name)));
  forms.forget();
  if (connected.some((s) => s.id === current)) serverSelect.value = current;
  // Another server connecting or going away changes nothing for the one shown: its form, and what the person has
  // typed into it, stay as they are.
  if (serverSelect.value && serverSelect.value === shown && tools.length) return;
  loadTools();
});

async function loadTools() {
  if (!serverSelect.value) return;
  const reply = await client.request(...toolsList(serverSelect.value));
  tools = reply.ok ? reply.result.tools : [];
  toolSelect.replaceChildren(...tools.map((t) => option(t.name, t.title ?? t.name)));
  const wanted = new URLSearchParams(location.search).get("tool");
  if (tools.some((t) => t.name === wanted)) toolSelect.value = wanted;
  quick = quickActionsFor(tools.map((t) => t.name));
  quickSelect.replaceChildren(option("", "— none: the tool's own form —"), ...quick.map((a) => option(a.id, a.title)));
  document.getElementById("quick-label").hidden = quick.length === 0;
  const wantedQuick = new URLSearchParams(location.search).get("quick");
  if (quick.some((a) => a.id === wantedQuick)) quickSelect.value = wantedQuick;
  showForm();
  if (!reply.ok) showProblems([reply.error.message]);
}

function currentQuick() {
  return quick.find((a) => a.id === quickSelect.value);
}

function showForm() {
  const action = currentQuick();
  const tool = tools.find((t) => t.name === toolSelect.value);
  toolSelect.disabled = Boolean(action);
  document.getElementById("description").textContent = action ? action.title : (tool?.description ?? "");
  document.getElementById("form").hidden = Boolean(action);
  document.getElementById("quick-area").hidden = !action;
  document.getElementById("output").hidden = true;
  const fields = document.getElementById("fields");
  fields.replaceChildren();
  showProblems([]);
  forms.show(action?.id ?? null);
  if (!action && tool) readForm = renderForm(fields, formModel(tool.inputSchema));
}

serverSelect.addEventListener("change", () => {
  personChoseServer = true;
  loadTools();
});
toolSelect.addEventListener("change", showForm);
quickSelect.addEventListener("change", showForm);

document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const tool = tools.find((t) => t.name === toolSelect.value);
  if (!tool || currentQuick()) return;
  let args;
  try {
    args = prune(readForm());
  } catch (error) {
    showProblems([error.message]);
    return;
  }
  // Check before sending: a person should hear about a missing field from the form, not from the server.
  const errors = validate(tool.inputSchema ?? {}, args);
  if (errors.length) {
    showProblems(errors.map((e) => `${e.path} ${e.message}`));
    return;
  }
  showProblems([]);
  const run = document.getElementById("run");
  const stop = document.getElementById("stop");
  run.disabled = true;
  run.textContent = "Running…";
  const call = client.start(...toolCall(serverSelect.value, tool.name, args), 130_000);
  running = call.id;
  stop.hidden = false;
  stop.disabled = false;
  const reply = await call.reply;
  running = null;
  stop.hidden = true;
  run.disabled = false;
  run.textContent = "Run";
  document.getElementById("output").hidden = false;
  const result = reply.ok ? reply.result : { isError: true, content: [{ type: "text", text: reply.error.message }] };
  copyText = renderResult(document.getElementById("result"), result);
});

// Stop: the host cancels the call (the server is told too), and the call's own reply says "cancelled".
document.getElementById("stop").addEventListener("click", async (event) => {
  if (!running) return;
  event.target.disabled = true;
  const reply = await client.cancelTool(running);
  if (!reply.ok && reply.error.code !== "unknown_call") showProblems([reply.error.message]);
});

document.getElementById("copy").addEventListener("click", () => navigator.clipboard.writeText(copyText));
