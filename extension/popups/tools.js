// The tool runner: pick a server, then a tool (a form generated from its inputSchema, a result, a progress bar
// while it runs), a resource (read it, follow its changes, fill in a template), or a prompt (fill in its
// arguments, see its messages). Address: tools.html?server=<id>&tab=tools|resources|prompts&tool=&quick=&uri=

import { BridgeClient } from "../shared/bridge-client.js";
import {
  completionComplete,
  promptsGet,
  promptsList,
  resourcesList,
  resourcesRead,
  resourcesSubscribe,
  resourcesTemplates,
  resourcesUnsubscribe,
  serverConnect,
  serverEnable,
  toolCall,
  toolsList,
} from "../shared/host-requests.js";
import { fixesFor, resultProblem } from "../shared/fixes.js";
import { renderMarkdown } from "../shared/markdown.js";
import { busyAfter, notice } from "../shared/notice.js";
import { NotionForms } from "../shared/notion-forms.js";
import { quickActionsFor } from "../shared/notion-quick.js";
import { progressBar } from "../shared/progress.js";
import { renderContents } from "../shared/render-resource.js";
import { jsonTree, renderResult } from "../shared/render-result.js";
import { formModel, prune, validate } from "../shared/schema-form.js";
import { renderForm } from "../shared/schema-form-dom.js";
import { expandTemplate, templateVariables } from "../shared/uri-template.js";

const client = new BridgeClient();
const params = new URLSearchParams(location.search);
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
let bar = null; // its progress bar
let servers = []; // connected servers' status entries
let tab = params.get("tab") ?? "tools"; // the tab asked for; shown once the server offers it

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function option(value, label) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = label;
  return node;
}

function say(node, message) {
  node.hidden = !message;
  node.textContent = message ?? "";
}

function showProblems(lines) {
  problems.hidden = lines.length === 0;
  problems.textContent = lines.join("\n");
}

function current() {
  return servers.find((s) => s.id === serverSelect.value);
}

// --- servers and tabs -----------------------------------------------------------------------------------------

// The server named in the URL wins until the person picks one: it may connect after the page opened.
let personChoseServer = false;

client.onState((state) => {
  // Without a host no server is connected, whatever the last status said.
  const all = state.host === "connected" ? (state.status?.servers ?? []) : [];
  latestServers = all;
  servers = all.filter((s) => s.state === "connected");
  const wanted = params.get("server");
  const chosen = personChoseServer ? serverSelect.value : (wanted ?? serverSelect.value);
  const ids = servers.map((s) => `${s.id}:${(s.capabilities ?? []).join("+")}`).join(",");
  if (serverSelect.dataset.ids === ids) return;
  const shown = serverSelect.value;
  serverSelect.dataset.ids = ids;
  serverSelect.replaceChildren(...servers.map((s) => option(s.id, s.name)));
  forms.forget();
  if (servers.some((s) => s.id === chosen)) serverSelect.value = chosen;
  showTabs();
  // Another server connecting or going away changes nothing for the one shown: its form, and what the person has
  // typed into it, stay as they are.
  if (serverSelect.value && serverSelect.value === shown && tools.length) return;
  loadServer();
});

function showTabs() {
  const offers = current()?.capabilities ?? [];
  for (const button of document.querySelectorAll(".tab")) {
    const name = button.dataset.tab;
    button.hidden = name !== "tools" && !offers.includes(name);
  }
  const shown = tab === "tools" || offers.includes(tab) ? tab : "tools";
  for (const button of document.querySelectorAll(".tab")) button.setAttribute("aria-selected", String(button.dataset.tab === shown));
  for (const view of document.querySelectorAll("[data-view]")) view.hidden = view.dataset.view !== shown;
}

for (const button of document.querySelectorAll(".tab")) {
  button.addEventListener("click", () => {
    tab = button.dataset.tab;
    showTabs();
  });
}

function loadServer() {
  loadTools();
  const offers = current()?.capabilities ?? [];
  if (offers.includes("resources")) loadResources();
  if (offers.includes("prompts")) loadPrompts();
}

serverSelect.addEventListener("change", () => {
  personChoseServer = true;
  showTabs();
  loadServer();
});

// A server's lists changed: ask again, keeping what the person has chosen where it still exists.
client.onEvent("server.list_changed", (event) => {
  if (event.server !== serverSelect.value) return;
  if (event.list === "tools") loadTools({ keep: true });
  if (event.list === "resources") loadResources();
  if (event.list === "prompts") loadPrompts({ keep: true });
});

// --- tools ----------------------------------------------------------------------------------------------------

async function loadTools({ keep = false } = {}) {
  if (!serverSelect.value) return;
  const chosen = toolSelect.value;
  const reply = await client.request(...toolsList(serverSelect.value));
  tools = reply.ok ? reply.result.tools : [];
  toolSelect.replaceChildren(...tools.map((t) => option(t.name, t.title ?? t.name)));
  if (keep && tools.some((t) => t.name === chosen)) {
    toolSelect.value = chosen;
    return; // the form the person may be typing in stays
  }
  const wanted = params.get("tool");
  if (tools.some((t) => t.name === wanted)) toolSelect.value = wanted;
  quick = quickActionsFor(tools.map((t) => t.name));
  quickSelect.replaceChildren(option("", "— none: the tool's own form —"), ...quick.map((a) => option(a.id, a.title)));
  document.getElementById("quick-label").hidden = quick.length === 0;
  const wantedQuick = params.get("quick");
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
  bar = null;
  document.getElementById("run-progress").replaceChildren();
  stop.hidden = false;
  stop.disabled = false;
  const done = busyAfter(document.getElementById("run-progress"), `Waiting for ${tool.name}…`);
  const reply = await call.reply;
  done();
  running = null;
  stop.hidden = true;
  run.disabled = false;
  run.textContent = "Run";
  document.getElementById("output").hidden = false;
  const resultBox = document.getElementById("result");
  if (reply.ok) {
    copyText = renderResult(resultBox, reply.result, { markdown: true });
    const name = latestServers.find((s) => s.id === serverSelect.value)?.name;
    const refusal = resultProblem(reply.result, name);
    if (refusal) resultBox.prepend(notice(refusal.words, refusal.fixes.map((f) => ({ server: serverSelect.value, ...f })), fix));
    return;
  }
  // The call never got an answer: say why, with what fixes it.
  copyText = reply.error.message;
  resultBox.classList.add("is-error");
  resultBox.replaceChildren(notice(reply.error.message, fixesFor(reply.error, { server: serverSelect.value }), fix));
});

/** Carry out a fix offered beside an error (shared/fixes.js). */
async function fix(action) {
  const form = document.getElementById("form");
  if (action.kind === "options") chrome.tabs.create({ url: chrome.runtime.getURL("options/options.html") });
  else if (action.kind === "connect" || action.kind === "reconnect-server") {
    const reply = await client.request(...serverConnect(action.server), 6 * 60_000);
    if (!reply.ok) showProblems([reply.error.message]);
    else if (reply.result.state === "connected") form.requestSubmit();
  } else if (action.kind === "enable") {
    await client.request(...serverEnable(action.server, true));
  } else if (action.kind === "retry" || action.kind === "wait") form.requestSubmit();
  else if (action.kind === "reconnect" || action.kind === "install") client.reconnect();
}

// The server's progress reports for the call in flight move a bar under the form.
client.onEvent("tool.progress", (event) => {
  if (!running || event.call_id !== running || event.conversation_id) return;
  if (!bar) {
    bar = progressBar();
    document.getElementById("run-progress").replaceChildren(bar.node);
  }
  bar.update(event);
});

// Stop: the host cancels the call (the server is told too), and the call's own reply says "cancelled".
document.getElementById("stop").addEventListener("click", async (event) => {
  if (!running) return;
  event.target.disabled = true;
  const reply = await client.cancelTool(running);
  if (!reply.ok && reply.error.code !== "unknown_call") showProblems([reply.error.message]);
});

document.getElementById("copy").addEventListener("click", () => navigator.clipboard.writeText(copyText));

// --- resources ------------------------------------------------------------------------------------------------

const resourceProblem = document.getElementById("resource-problem");
let shownResource = null; // {server, uri}
let resourceCopy = "";
let template = null; // the template whose form is shown

function listItem(title, sub, onClick, data) {
  const li = el("li");
  const button = el("button", "", title);
  button.type = "button";
  Object.assign(button.dataset, data);
  if (sub && sub !== title) button.append(el("span", "sub", sub));
  button.addEventListener("click", () => {
    document.querySelectorAll(".items button").forEach((b) => b.removeAttribute("aria-current"));
    button.setAttribute("aria-current", "true");
    onClick();
  });
  li.append(button);
  return li;
}

async function loadResources() {
  const server = serverSelect.value;
  if (!server) return;
  const [listed, templates] = await Promise.all([client.request(...resourcesList(server)), client.request(...resourcesTemplates(server))]);
  if (server !== serverSelect.value) return;
  const resources = listed.ok ? listed.result.resources : [];
  document.getElementById("resource-list").replaceChildren(
    ...resources.map((r) => listItem(r.title ?? r.name, r.uri, () => openResource(r.uri, r.title ?? r.name), { uri: r.uri })),
  );
  document.getElementById("resource-none").hidden = resources.length > 0;
  const found = templates.ok ? templates.result.resourceTemplates : [];
  document.getElementById("template-list").replaceChildren(
    ...found.map((t) => listItem(t.title ?? t.name, t.uriTemplate, () => showTemplate(t), { template: t.uriTemplate })),
  );
  document.getElementById("template-none").hidden = found.length > 0;
  say(resourceProblem, listed.ok ? (templates.ok ? null : templates.error.message) : listed.error.message);
  const wanted = params.get("uri");
  if (wanted && !shownResource) openResource(wanted, wanted);
}

async function openResource(uri, title) {
  const server = serverSelect.value;
  shownResource = { server, uri };
  document.getElementById("template-form").hidden = true;
  say(resourceProblem, null);
  document.getElementById("resource-title").textContent = title;
  const follow = document.getElementById("subscribe");
  document.getElementById("subscribe-label").hidden = !(current()?.capabilities ?? []).includes("subscribe");
  follow.checked = Boolean(followed.get(`${server} ${uri}`));
  say(document.getElementById("resource-updated"), null);
  await readShown();
}

async function readShown() {
  if (!shownResource) return;
  const { server, uri } = shownResource;
  const reply = await client.request(...resourcesRead(server, uri));
  if (shownResource?.uri !== uri) return;
  const view = document.getElementById("resource-view");
  view.hidden = false;
  view.dataset.uri = uri;
  if (!reply.ok) {
    document.getElementById("resource-contents").replaceChildren();
    say(resourceProblem, reply.error.message);
    return;
  }
  resourceCopy = renderContents(document.getElementById("resource-contents"), reply.result.contents);
}

const followed = new Map(); // "server uri" -> true while subscribed from this page

document.getElementById("subscribe").addEventListener("change", async (event) => {
  if (!shownResource) return;
  const { server, uri } = shownResource;
  const builder = event.target.checked ? resourcesSubscribe : resourcesUnsubscribe;
  const reply = await client.request(...builder(server, uri));
  if (!reply.ok) {
    event.target.checked = !event.target.checked;
    say(resourceProblem, reply.error.message);
    return;
  }
  if (event.target.checked) followed.set(`${server} ${uri}`, true);
  else followed.delete(`${server} ${uri}`);
});

// A followed resource changed: read it again, and say when.
client.onEvent("resource.updated", async (event) => {
  if (!shownResource || event.server !== shownResource.server || event.uri !== shownResource.uri) return;
  await readShown();
  const note = document.getElementById("resource-updated");
  say(note, `Updated at ${new Date().toLocaleTimeString()}`);
  note.dataset.count = String(Number(note.dataset.count ?? 0) + 1);
});

// Leaving the page ends what it followed.
addEventListener("pagehide", () => {
  for (const key of followed.keys()) {
    const [server, uri] = key.split(" ");
    client.request(...resourcesUnsubscribe(server, uri));
  }
});

document.getElementById("resource-copy").addEventListener("click", () => navigator.clipboard.writeText(resourceCopy));

/** A text field per variable, with the server's suggestions as it is typed where it offers completion. */
function argumentFields(container, names, { required = [], descriptions = {}, complete }) {
  const inputs = {};
  container.replaceChildren();
  for (const name of names) {
    const wrap = el("div", "field");
    wrap.dataset.field = name;
    const id = `arg-${name}`;
    const label = el("label", "label", name);
    label.htmlFor = id;
    if (required.includes(name)) label.append(el("span", "required", " *"));
    const input = el("input");
    input.type = "text";
    input.id = id;
    if (complete) {
      const list = el("datalist");
      list.id = `${id}-suggestions`;
      input.setAttribute("list", list.id);
      let asked = 0;
      input.addEventListener("input", async () => {
        const mine = ++asked;
        const values = Object.fromEntries(Object.entries(inputs).map(([k, node]) => [k, node.value]));
        const suggestions = await complete(name, input.value, values);
        if (mine !== asked) return; // a later keystroke asked again
        list.replaceChildren(...suggestions.map((value) => option(value, value)));
        list.dataset.count = String(suggestions.length);
      });
      wrap.append(label, input, list);
    } else {
      wrap.append(label, input);
    }
    if (descriptions[name]) wrap.append(el("small", "help", descriptions[name]));
    container.append(wrap);
    inputs[name] = input;
  }
  return inputs;
}

function completer(ref) {
  if (!(current()?.capabilities ?? []).includes("completions")) return null;
  const server = serverSelect.value;
  return async (name, value, values) => {
    const reply = await client.request(...completionComplete(server, ref, name, value, values));
    return reply.ok ? reply.result.completion.values : [];
  };
}

let templateInputs = {};

function showTemplate(found) {
  template = found;
  shownResource = null;
  document.getElementById("resource-view").hidden = true;
  say(resourceProblem, null);
  const form = document.getElementById("template-form");
  form.hidden = false;
  document.getElementById("template-title").textContent = found.title ?? found.name;
  document.getElementById("template-description").textContent = found.description ?? "";
  const names = templateVariables(found.uriTemplate);
  templateInputs = argumentFields(document.getElementById("template-fields"), names, {
    required: names,
    complete: completer({ type: "ref/resource", uri: found.uriTemplate }),
  });
  const uri = document.getElementById("template-uri");
  const update = () => (uri.textContent = expandTemplate(found.uriTemplate, values(templateInputs)));
  for (const input of Object.values(templateInputs)) input.addEventListener("input", update);
  update();
}

function values(inputs) {
  return Object.fromEntries(Object.entries(inputs).map(([k, node]) => [k, node.value.trim()]));
}

document.getElementById("template-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!template) return;
  const filled = values(templateInputs);
  const missing = Object.keys(filled).filter((k) => !filled[k]);
  if (missing.length) return say(resourceProblem, `Fill in ${missing.join(", ")}`);
  const uri = expandTemplate(template.uriTemplate, filled);
  const form = document.getElementById("template-form");
  openResource(uri, uri).then(() => (form.hidden = false));
});

// --- prompts --------------------------------------------------------------------------------------------------

const promptSelect = document.getElementById("prompt");
let prompts = [];
let promptInputs = {};

async function loadPrompts({ keep = false } = {}) {
  const server = serverSelect.value;
  if (!server) return;
  const chosen = promptSelect.value;
  const reply = await client.request(...promptsList(server));
  if (server !== serverSelect.value) return;
  prompts = reply.ok ? reply.result.prompts : [];
  promptSelect.replaceChildren(...prompts.map((p) => option(p.name, p.title ?? p.name)));
  say(document.getElementById("prompt-problem"), reply.ok ? null : reply.error.message);
  if (keep && prompts.some((p) => p.name === chosen)) {
    promptSelect.value = chosen;
    return;
  }
  showPrompt();
}

function showPrompt() {
  const prompt = prompts.find((p) => p.name === promptSelect.value);
  document.getElementById("prompt-description").textContent = prompt?.description ?? "";
  const args = prompt?.arguments ?? [];
  promptInputs = argumentFields(document.getElementById("prompt-fields"), args.map((a) => a.name), {
    required: args.filter((a) => a.required).map((a) => a.name),
    descriptions: Object.fromEntries(args.map((a) => [a.name, a.description ?? ""])),
    complete: prompt ? completer({ type: "ref/prompt", name: prompt.name }) : null,
  });
  document.getElementById("prompt-messages").replaceChildren();
}

promptSelect.addEventListener("change", showPrompt);

document.getElementById("prompt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const prompt = prompts.find((p) => p.name === promptSelect.value);
  if (!prompt) return;
  const filled = values(promptInputs);
  const missing = (prompt.arguments ?? []).filter((a) => a.required && !filled[a.name]).map((a) => a.name);
  const problem = document.getElementById("prompt-problem");
  if (missing.length) return say(problem, `Fill in ${missing.join(", ")}`);
  const reply = await client.request(...promptsGet(serverSelect.value, prompt.name, filled));
  if (!reply.ok) return say(problem, reply.error.message);
  say(problem, null);
  renderMessages(document.getElementById("prompt-messages"), reply.result.messages);
});

/** A prompt's messages: each role, and its text as Markdown (other content as a JSON tree). */
export function renderMessages(container, messages) {
  container.replaceChildren();
  for (const message of messages ?? []) {
    const node = el("div", "message");
    node.append(el("div", "role", message.role));
    for (const content of Array.isArray(message.content) ? message.content : [message.content]) {
      if (content?.type === "text") {
        const body = el("div", "markdown");
        renderMarkdown(body, content.text);
        node.append(body);
      } else if (content?.type === "resource" && content.resource) {
        const body = el("div");
        renderContents(body, [content.resource]);
        node.append(body);
      } else {
        node.append(jsonTree(content, content?.type ?? "content"));
      }
    }
    container.append(node);
  }
}

showTabs();
