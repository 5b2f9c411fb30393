// The toolbar popup: one card per server, live from the background's state, with Connect, Enable, Disconnect;
// above them, servers' questions for the person: elicitation forms, and requests for the model (sampling), which
// go to the model only when approved here and whose answer is sent only as approved (and edited) here.

import { BridgeClient } from "../shared/bridge-client.js";
import {
  addNotionWorkspace,
  configGet,
  elicitationRespond,
  samplingRespond,
  serverConnect,
  serverDisconnect,
  serverEnable,
  serverRemove,
} from "../shared/host-requests.js";
import { busyAfter } from "../shared/notice.js";
import { formModel, prune, validate } from "../shared/schema-form.js";
import { renderForm } from "../shared/schema-form-dom.js";

const LABELS = {
  disabled: "Disconnected",
  connecting: "Connecting",
  connected: "Connected",
  error: "Error",
  needs_auth: "Needs auth",
  offline: "Host offline",
};

const client = new BridgeClient();
let latest = null;

function text(node, value) {
  node.textContent = value ?? "";
}

function describeHost(state) {
  if (state.host === "connected") return `Host ${state.hello?.host_version ?? ""} connected`;
  const words = (state.hostError ?? "unknown error").replace(/\.$/, "");
  if (state.host === "missing") return `Host not running: ${words}`;
  const retry = state.retryAt ? `; retrying in ${Math.max(0, Math.round((state.retryAt - Date.now()) / 1000))} s` : "";
  return state.hostError ? `Host stopped: ${words}${retry}` : "Starting the host…";
}

function retryWords(server) {
  if (server.state !== "error" || !server.retry_at) return "";
  const seconds = Math.max(0, Math.round(server.retry_at - Date.now() / 1000));
  return ` · next try in ${seconds} s`;
}

function metaWords(server) {
  const tools = server.state === "connected" ? `${server.tools} tool${server.tools === 1 ? "" : "s"}` : "";
  return [server.transport, tools].filter(Boolean).join(" · ") + retryWords(server);
}

/** Once a second, only the countdowns change: update their text in place so nothing a person is about to
 * click is replaced under the pointer. */
function tick() {
  if (!latest) return;
  text(document.getElementById("host"), describeHost(latest));
  for (const server of latest.status?.servers ?? []) {
    const meta = document.querySelector(`[data-server="${CSS.escape(server.id)}"] .meta`);
    if (meta && latest.host === "connected") text(meta, metaWords(server));
  }
}

/** Which card a question is: elicitations by id; a request for the model by id and step (asked, or drafted). */
function questionKey(question) {
  if (question.sampling_id) return `sampling:${question.sampling_id}:${question.draft ? "draft" : "ask"}`;
  return `elicitation:${question.elicitation_id}`;
}

// Questions keep their half-filled forms across state updates: only new ones are drawn, gone ones removed.
function renderQuestions(questions) {
  const box = document.getElementById("questions");
  const open = new Set(questions.map(questionKey));
  for (const node of [...box.children]) if (!open.has(node.dataset.question)) node.remove();
  for (const question of questions) {
    const key = questionKey(question);
    if ([...box.children].some((node) => node.dataset.question === key)) continue;
    const card = question.sampling_id ? samplingCard(question) : questionCard(question);
    card.dataset.question = key;
    box.append(card);
  }
}

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

/** What a sampling message says, as text: its text, and what else it carries named. */
function messageText(content) {
  const parts = Array.isArray(content) ? content : [content];
  return parts.map((part) => (part?.type === "text" ? part.text : `[${part?.type ?? "content"}${part?.mimeType ? ` ${part.mimeType}` : ""}]`)).join("\n");
}

/** A server's request for the model: first whether to ask it at all, then whether to send its (edited) answer. */
function samplingCard(question) {
  const node = el("form", "question sampling");
  node.dataset.sampling = question.sampling_id;
  const server = question.server_name ?? question.server;
  const problems = el("p", "error");
  problems.hidden = true;
  const actions = el("div", "actions");
  const respond = async (action, text) => {
    actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
    const reply = await client.request(...samplingRespond(question.sampling_id, action, text));
    if (!reply.ok) {
      problems.hidden = false;
      problems.textContent = reply.error.message;
      actions.querySelectorAll("button").forEach((b) => (b.disabled = false));
    }
  };
  const button = (label, className, onClick) => {
    const b = el("button", className, label);
    b.type = className === "connect" ? "submit" : "button";
    if (className !== "connect") b.addEventListener("click", onClick);
    actions.append(b);
  };
  if (!question.draft) {
    node.append(el("h2", "", `${server} asks the chat model`));
    const list = el("div", "messages");
    if (question.system_prompt) list.append(el("p", "meta", `System: ${question.system_prompt}`));
    for (const message of question.messages ?? []) {
      const item = el("p", "message");
      item.append(el("strong", "", `${message.role}: `), document.createTextNode(messageText(message.content)));
      list.append(item);
    }
    node.append(list);
    const facts = [`up to ${question.max_tokens} tokens`, `answered by ${question.model}`];
    const hints = (question.model_preferences?.hints ?? []).map((h) => h.name).filter(Boolean);
    if (hints.length) facts.push(`the server would like ${hints.join(" or ")}`);
    for (const [key, label] of [["costPriority", "cost"], ["speedPriority", "speed"], ["intelligencePriority", "intelligence"]]) {
      const value = question.model_preferences?.[key];
      if (typeof value === "number") facts.push(`${label} priority ${value}`);
    }
    if (typeof question.temperature === "number") facts.push(`temperature ${question.temperature}`);
    if (question.stop_sequences?.length) facts.push(`stops at ${question.stop_sequences.map((s) => JSON.stringify(s)).join(", ")}`);
    if (question.include_context && question.include_context !== "none") facts.push(`asks for context (${question.include_context}); none is included`);
    node.append(el("p", "meta facts", facts.join(" · ")));
    button("Ask the model", "connect");
    button("Decline", "decline", () => respond("decline"));
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      respond("approve");
    });
  } else {
    node.append(el("h2", "", `The model's answer for ${server}`));
    node.append(el("p", "meta", `From ${question.draft.model}. Edit it if you like; ${server} gets only what you send.`));
    const answer = el("textarea", "draft");
    answer.setAttribute("aria-label", `The model's answer for ${server}`);
    answer.rows = 5;
    answer.value = question.draft.text;
    node.append(answer);
    button(`Send to ${server}`, "connect");
    button("Decline", "decline", () => respond("decline"));
    node.addEventListener("submit", (event) => {
      event.preventDefault();
      respond("approve", answer.value);
    });
  }
  node.append(problems, actions);
  return node;
}

function questionCard(question) {
  const node = document.createElement("form");
  node.className = "question";
  node.dataset.elicitation = question.elicitation_id;
  const server = latest?.status?.servers?.find((s) => s.id === question.server)?.name ?? question.server;
  const title = document.createElement("h2");
  title.textContent = `${server} asks:`;
  const message = document.createElement("p");
  message.textContent = question.message;
  const fields = document.createElement("div");
  const schema = question.requested_schema ?? { type: "object", properties: {} };
  const read = renderForm(fields, formModel(schema));
  const problems = document.createElement("p");
  problems.className = "error";
  problems.hidden = true;
  const actions = document.createElement("div");
  actions.className = "actions";
  const answer = async (action) => {
    let content;
    if (action === "accept") {
      try {
        content = prune(read());
      } catch (error) {
        problems.hidden = false;
        problems.textContent = error.message;
        return;
      }
      const errors = validate(schema, content);
      if (errors.length) {
        problems.hidden = false;
        problems.textContent = errors.map((e) => `${e.path} ${e.message}`).join("\n");
        return;
      }
    }
    const reply = await client.request(...elicitationRespond(question.elicitation_id, action, content));
    if (!reply.ok) {
      problems.hidden = false;
      problems.textContent = reply.error.message;
    }
  };
  for (const [action, label] of [["accept", "Accept"], ["decline", "Decline"], ["cancel", "Cancel"]]) {
    const button = document.createElement("button");
    button.type = action === "accept" ? "submit" : "button";
    button.className = action === "accept" ? "connect" : action;
    button.textContent = label;
    if (action !== "accept") button.addEventListener("click", () => answer(action));
    actions.append(button);
  }
  node.addEventListener("submit", (event) => {
    event.preventDefault();
    answer("accept");
  });
  node.append(title, message, fields, problems, actions);
  return node;
}

function render(state) {
  latest = state;
  renderQuestions(state.questions ?? []);
  const host = document.getElementById("host");
  text(host, describeHost(state));
  host.classList.toggle("bad", state.host !== "connected");
  document.getElementById("missing").hidden = state.host !== "missing";
  const list = document.getElementById("servers");
  const servers = state.status?.servers ?? [];
  // Without a host there is no session behind any card: show the last known list, but not as live.
  const live = state.host === "connected";
  list.replaceChildren(...servers.map((server) => card(live ? server : { ...server, state: "offline", error: null })));
  // Nothing connected yet: say what Connect will do before anyone presses it.
  document.getElementById("empty").hidden = !live || servers.some((s) => s.state === "connected");
  document.getElementById("retry-host").hidden = state.host !== "connecting" || !state.hostError;
  addSection.hidden = !live;
  text(document.getElementById("add-workspace-open"), servers.some(isNotionEntry) ? "Add another Notion workspace" : "Add a Notion workspace");
  for (const notice of state.status?.notices ?? []) {
    const p = document.createElement("p");
    p.className = "meta";
    p.textContent = notice;
    list.append(p);
  }
}

/**
 * A Notion workspace's icon: its emoji, or its initial; nothing for other servers. An image icon shows as the
 * initial too: the extension's pages load no image from the network (img-src 'self' data:, docs/extension.md).
 */
function workspaceIcon(holder, workspace) {
  holder.replaceChildren();
  if (!workspace) return;
  const icon = workspace.icon ?? "";
  if (icon && !/^https?:\/\//.test(icon)) {
    holder.textContent = icon;
  } else {
    const initial = document.createElement("span");
    initial.className = "initial";
    initial.textContent = (workspace.name.trim()[0] ?? "?").toUpperCase();
    holder.append(initial);
  }
}

/** Whether a card is a Notion workspace's: it named its workspace, or it is an entry added for one. */
const isNotionEntry = (server) => server.kind === "remote" && (Boolean(server.workspace) || /^notion\b/i.test(server.name));

function card(server) {
  const node = document.getElementById("card").content.firstElementChild.cloneNode(true);
  node.dataset.server = server.id;
  text(node.querySelector(".name .title"), server.name);
  workspaceIcon(node.querySelector(".ws-icon"), server.workspace);
  const badge = node.querySelector(".badge");
  text(badge, LABELS[server.state] ?? server.state);
  badge.classList.add(server.state);
  text(node.querySelector(".meta"), metaWords(server));
  const error = node.querySelector(".error");
  error.hidden = !server.error;
  text(error, server.error);

  const connectButton = node.querySelector(".connect");
  // A server that failed: its button tries again now instead of waiting for the next attempt.
  if (server.state === "error") connectButton.textContent = "Retry now";
  if (server.state === "needs_auth") connectButton.title = "Sign in again in a new window";
  // A remote server still connecting may be waiting for a sign-in only the person can give: Connect stays
  // available, and the host lets it join (or follow) the attempt under way.
  connectButton.hidden = ["connected", "offline"].includes(server.state) || (server.state === "connecting" && server.kind !== "remote");
  connectButton.addEventListener("click", () => act(server, serverConnect(server.id), 6 * 60_000));
  const toggle = node.querySelector(".enable input");
  toggle.checked = server.enabled;
  toggle.addEventListener("change", () => act(server, serverEnable(server.id, toggle.checked)));
  const toolsLink = node.querySelector(".tools-link");
  toolsLink.hidden = server.state !== "connected";
  toolsLink.href = `tools.html?server=${encodeURIComponent(server.id)}`;
  const logsLink = node.querySelector(".logs-link");
  logsLink.hidden = server.state !== "connected" || !(server.capabilities ?? []).includes("logging");
  logsLink.href = `logs.html?server=${encodeURIComponent(server.id)}`;
  const disconnect = node.querySelector(".disconnect");
  disconnect.hidden = server.kind !== "remote" || !server.enabled;
  disconnect.addEventListener("click", () => {
    if (confirm(`Disconnect ${server.name}? Its sign-in is revoked and forgotten on this computer.`)) {
      act(server, serverDisconnect(server.id));
    }
  });
  const remove = node.querySelector(".remove");
  remove.hidden = !isNotionEntry(server) || server.state === "offline";
  remove.addEventListener("click", () => {
    if (confirm(`Remove ${server.name}? Its sign-in is revoked and forgotten; other workspaces stay connected.`)) {
      act(server, serverRemove(server.id));
    }
  });
  return node;
}

// --- "Add another Notion workspace": a new entry, signed in at once; a sign-in that goes nowhere leaves nothing --

const addSection = document.getElementById("add-workspace");
const addForm = document.getElementById("add-workspace-form");
const addProblem = document.getElementById("add-workspace-problem");

function showAddProblem(message) {
  addProblem.hidden = !message;
  text(addProblem, message);
}

document.getElementById("add-workspace-open").addEventListener("click", async () => {
  addForm.hidden = false;
  showAddProblem(null);
  const config = await client.request(...configGet());
  const notion = config.ok ? config.result.servers.find((s) => s.kind === "remote" && /notion/i.test(`${s.name} ${s.url}`)) : null;
  const input = document.getElementById("add-workspace-url");
  if (!input.value) input.value = notion?.url ?? "https://mcp.notion.com/mcp";
});
document.getElementById("add-workspace-cancel").addEventListener("click", () => {
  addForm.hidden = true;
});
addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = addForm.querySelector("button[type=submit]");
  button.disabled = true;
  showAddProblem(null);
  try {
    const added = await client.request(...addNotionWorkspace(document.getElementById("add-workspace-url").value));
    if (!added.ok) return showAddProblem(added.error.message);
    const id = added.result.id;
    const signedIn = await client.request(...serverConnect(id), 6 * 60_000);
    const entry = signedIn.ok ? signedIn.result : null;
    const twin = entry?.workspace?.id && latest?.status?.servers?.find((s) => s.id !== id && s.workspace?.id === entry.workspace.id);
    if (!entry || entry.state !== "connected" || twin) {
      // Nothing half-made stays behind: the entry existed only for this sign-in.
      await client.request(...serverRemove(id));
      return showAddProblem(twin ? `${entry.workspace.name} is already connected (${twin.name}).` : `The sign-in did not finish: ${signedIn.ok ? (entry?.error ?? entry?.state) : signedIn.error.message}`);
    }
    addForm.hidden = true;
  } finally {
    button.disabled = false;
  }
});

/** Send a request about a server ([verb, fields] from host-requests.js); a refusal shows on its card. */
async function act(server, [verb, fields], timeoutMs) {
  const actions = document.querySelector(`[data-server="${CSS.escape(server.id)}"] .actions`);
  const done = actions ? busyAfter(actions, "Working…") : () => {};
  const reply = await client.request(verb, fields, timeoutMs);
  done();
  if (!reply.ok) {
    const node = document.querySelector(`[data-server="${CSS.escape(server.id)}"] .error`);
    if (node) {
      node.hidden = false;
      node.textContent = reply.error.message;
    }
  }
}

document.getElementById("retry").addEventListener("click", () => client.reconnect());
document.getElementById("retry-host").addEventListener("click", () => client.reconnect());
document.getElementById("copy-install").addEventListener("click", (event) => {
  navigator.clipboard.writeText("notion-bridge install").then(
    () => (event.target.textContent = "Copied"),
    () => (event.target.textContent = "Select the command and copy it"),
  );
});
// The page behind the popup, looked up now: on the click there is no time for it, as sidePanel.open() must run
// within the click's gesture, and an await before asking the background would spend it.
let pageTabId;
chrome.tabs.query({ active: true, currentWindow: true }).then(([tab]) => (pageTabId = tab?.id));
document.getElementById("open-chat").addEventListener("click", () => {
  // Opening the popup from the toolbar granted activeTab for that page; the chat opens beside it, bound to it.
  chrome.runtime.sendMessage({ type: "chat.open", tabId: pageTabId }).then((outcome) => {
    if (outcome?.ok) return window.close();
    const problem = document.getElementById("chat-problem");
    problem.hidden = false;
    text(problem, `The chat could not open: ${outcome?.error ?? "no answer"}`);
  });
});
client.onState(render);
// Paint at once from the last state the background stored, before the port answers.
chrome.storage.session.get("bridge").then(({ bridge }) => bridge && !latest && render(bridge));
setInterval(tick, 1000);
