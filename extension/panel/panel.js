// The chat panel, shown in Chrome's side panel for one tab (panel.html?tab=<id>): a conversation with the model,
// whose tool calls run on every connected server; write calls wait here for the person's approval.
// The panel is bound to its tab (what "Use this page" reads) and to one conversation, which it starts with
// chat.new before its first message or picks from the list; it shows that conversation's events and no others.
// Without a model configured, slash commands call tools directly. Stop ends whatever this panel has running: its
// chat turn (chat.cancel) and its own tool calls (tool.cancel, by the id each tool.call went with).
// `@` attaches a server's resource to the message (its contents go along as context); each server's prompts are
// slash commands too, with a form for their arguments. Tool cards show the server's progress as a bar.

import { BridgeClient } from "../shared/bridge-client.js";
import { boundTab, isOwnEvent } from "../shared/chat-panel.js";
import {
  chatApprove,
  chatCancel,
  chatDelete,
  chatHistory,
  chatList,
  chatNew,
  chatSend,
  completionComplete,
  configGet,
  promptsGet,
  promptsList,
  resourcesList,
  resourcesRead,
  savePage,
  slashCommand,
  toolCall,
} from "../shared/host-requests.js";
import { renderMarkdown } from "../shared/markdown.js";
import {
  matchPromptCommand,
  matchResources,
  mentionQuery,
  promptCommands,
  promptResources,
  promptText,
  withoutMention,
} from "../shared/mentions.js";
import { progressBar } from "../shared/progress.js";
import { contentsForModel } from "../shared/render-resource.js";
import { renderResult } from "../shared/render-result.js";

const client = new BridgeClient();
const log = document.getElementById("log");
const text = document.getElementById("text");
const conversations = document.getElementById("conversations");
const tabId = boundTab(location.search);
const remembered = `chat.tab.${tabId}`; // this tab's conversation, kept while the browser runs
let conversationId = null;
let status = null;
let llmReady = false;
let current = null; // the assistant bubble being streamed: {node, text}
const cards = new Map();
const bars = new Map(); // call id -> the progress bar of its running card
let turn = false; // this panel's chat turn is running
const calls = new Set(); // the ids of this panel's own tool.call requests in flight
let resources = []; // [{server, serverName, uri, name, title}] of connected servers that offer resources
let commands = new Map(); // "/prompt" -> {server, serverName, prompt}
const attachments = []; // resources attached to the next message: {server, serverName, uri, title}

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

function problem(message) {
  const node = document.getElementById("problem");
  node.hidden = !message;
  node.textContent = message ?? "";
}

function say(role, content) {
  const node = el("div", `msg ${role}`);
  if (role === "assistant") renderMarkdown(node, content);
  else node.textContent = content;
  log.append(node);
  log.scrollTop = log.scrollHeight;
  return node;
}

function toolCard(event) {
  let card = cards.get(event.call_id);
  if (!card) {
    card = el("div", "toolcard");
    card.dataset.call = event.call_id;
    cards.set(event.call_id, card);
    log.append(card);
    current = null; // text after a tool call starts a new bubble
  }
  card.replaceChildren();
  card.append(el("span", "status", event.status + (event.duration_ms !== undefined ? ` · ${event.duration_ms} ms` : "")));
  card.append(el("strong", "", `${event.server_name ?? event.server ?? ""} · ${event.tool ?? ""}`));
  if (event.arguments) card.append(el("pre", "args", JSON.stringify(event.arguments, null, 2)));
  if (event.status === "running" && bars.has(event.call_id)) card.append(bars.get(event.call_id).node);
  else if (event.status !== "running") bars.delete(event.call_id);
  if (event.error) card.append(el("p", "error", event.error));
  if (event.status === "awaiting_approval") {
    const row = el("div", "actions");
    for (const [label, approve, always] of [["Approve", true, false], ["Always allow", true, true], ["Deny", false, false]]) {
      const button = el("button", approve ? "connect" : "", label);
      button.type = "button";
      button.addEventListener("click", async () => {
        row.querySelectorAll("button").forEach((b) => (b.disabled = true));
        const reply = await client.request(...chatApprove(event.conversation_id, event.call_id, approve, always));
        if (!reply.ok) {
          problem(reply.error.message);
          row.querySelectorAll("button").forEach((b) => (b.disabled = false));
        }
      });
      row.append(button);
    }
    card.append(row);
  }
  if (event.result) {
    const details = el("details");
    details.append(el("summary", "", event.result.isError ? "error result" : "result"));
    const body = el("div", "result");
    renderResult(body, event.result); // the tool runner's renderer: text, a table for rows, a JSON tree
    details.append(body);
    card.append(details);
  }
  log.scrollTop = log.scrollHeight;
}

function onEvent(event) {
  if (event.type === "chat.delta") {
    current ??= { node: say("assistant", ""), text: "" };
    current.text += event.text;
    renderMarkdown(current.node, current.text);
    log.scrollTop = log.scrollHeight;
  } else if (event.type === "chat.tool") {
    toolCard(event);
  } else if (event.type === "chat.error") {
    problem(event.message);
  }
}

// Every panel hears every conversation's events; this one shows its own conversation's, and none before it has one.
client.onEvent((event) => isOwnEvent(event, conversationId), onEvent);

// A server's progress on a call of this panel's: the chat's (named by its conversation and the model's call id)
// or one of its own slash-command calls (named by the request's id).
client.onEvent("tool.progress", (event) => {
  const ours = event.conversation_id ? event.conversation_id === conversationId : calls.has(event.call_id);
  const card = cards.get(event.call_id);
  if (!ours || !card) return;
  let bar = bars.get(event.call_id);
  if (!bar) {
    bar = progressBar();
    bars.set(event.call_id, bar);
    const error = card.querySelector(".error");
    if (error) error.before(bar.node);
    else card.append(bar.node);
  }
  bar.update(event);
});

let serverSignature = "";
client.onState((state) => {
  status = state.status;
  const connected = (status?.servers ?? []).filter((server) => server.state === "connected");
  const signature = connected.map((s) => `${s.id}:${(s.capabilities ?? []).join("+")}`).join(",");
  if (signature !== serverSignature) {
    serverSignature = signature;
    loadResources(connected);
    loadPrompts(connected);
  }
  showCommands();
});

// A server's resources or prompts changed: ask again.
client.onEvent("server.list_changed", (event) => {
  const connected = (status?.servers ?? []).filter((server) => server.state === "connected");
  if (event.list === "resources") loadResources(connected);
  if (event.list === "prompts") loadPrompts(connected);
});

function showCommands() {
  const tools = (status?.servers ?? []).filter((s) => s.state === "connected").map((s) => `/tool ${s.id}.`);
  const values = ["/search ", "/sql SELECT ", ...tools, ...[...commands.keys()].map((c) => `${c} `)];
  document.getElementById("commands").replaceChildren(...values.map((c) => Object.assign(el("option"), { value: c })));
}

// --- @: a server's resource attached to the message ---------------------------------------------------------------

async function loadResources(connected) {
  const offering = connected.filter((s) => (s.capabilities ?? []).includes("resources"));
  const lists = await Promise.all(offering.map((s) => client.request(...resourcesList(s.id))));
  resources = lists.flatMap((reply, i) =>
    reply.ok ? reply.result.resources.map((r) => ({ server: offering[i].id, serverName: offering[i].name, uri: r.uri, name: r.name, title: r.title ?? r.name })) : [],
  );
  document.body.dataset.resources = String(resources.length);
}

async function loadPrompts(connected) {
  const offering = connected.filter((s) => (s.capabilities ?? []).includes("prompts"));
  const lists = await Promise.all(offering.map((s) => client.request(...promptsList(s.id))));
  commands = promptCommands(
    lists.flatMap((reply, i) => (reply.ok ? reply.result.prompts.map((prompt) => ({ server: offering[i].id, serverName: offering[i].name, prompt })) : [])),
  );
  document.body.dataset.prompts = String(commands.size);
  showCommands();
}

const mentions = document.getElementById("mentions");

function showMentions() {
  const found = mentionQuery(text.value, text.selectionStart ?? text.value.length);
  const matches = found ? matchResources(resources, found.query) : [];
  mentions.hidden = matches.length === 0;
  mentions.replaceChildren(
    ...matches.map((resource) => {
      const item = el("li");
      const button = el("button", "mention", `${resource.serverName}: ${resource.title}`);
      button.type = "button";
      button.dataset.uri = resource.uri;
      button.title = resource.uri;
      button.addEventListener("click", () => attach(resource, found));
      item.append(button);
      return item;
    }),
  );
}

function attach(resource, found) {
  if (!attachments.some((a) => a.server === resource.server && a.uri === resource.uri)) attachments.push(resource);
  text.value = withoutMention(text.value, found);
  mentions.hidden = true;
  showAttachments();
  text.focus();
}

function showAttachments() {
  const box = document.getElementById("attachments");
  box.hidden = attachments.length === 0;
  box.replaceChildren(
    ...attachments.map((resource, index) => {
      const chip = el("span", "chip", `@ ${resource.serverName}: ${resource.title}`);
      chip.dataset.uri = resource.uri;
      chip.title = resource.uri;
      const remove = el("button", "", "×");
      remove.type = "button";
      remove.title = "Detach";
      remove.addEventListener("click", () => {
        attachments.splice(index, 1);
        showAttachments();
      });
      chip.append(remove);
      return chip;
    }),
  );
}

text.addEventListener("input", showMentions);

/** The attached resources' contents, read now, as context for the model; null after saying what failed. */
async function attachedContext(extra = []) {
  const read = [];
  for (const resource of attachments) {
    const reply = await client.request(...resourcesRead(resource.server, resource.uri));
    if (!reply.ok) {
      problem(`${resource.title}: ${reply.error.message}`);
      return null;
    }
    read.push({ server: resource.serverName, uri: resource.uri, text: contentsForModel(reply.result.contents).slice(0, 50_000) });
  }
  for (const content of extra) read.push({ uri: content.uri, text: contentsForModel([content]).slice(0, 50_000) });
  return read;
}

// --- /: a server's prompt, with a form for its arguments --------------------------------------------------------

let promptInputs = null;
let pendingPrompt = null;

function showPromptForm(match) {
  pendingPrompt = match;
  const { entry, rest } = match;
  const form = document.getElementById("prompt-form");
  form.hidden = false;
  document.getElementById("prompt-title").textContent = `${entry.serverName}: ${entry.prompt.title ?? entry.prompt.name}`;
  document.getElementById("prompt-description").textContent = entry.prompt.description ?? "";
  const fields = document.getElementById("prompt-fields");
  fields.replaceChildren();
  promptInputs = {};
  const args = entry.prompt.arguments ?? [];
  const offersCompletion = (status?.servers ?? []).some((s) => s.id === entry.server && (s.capabilities ?? []).includes("completions"));
  args.forEach((arg, index) => {
    const wrap = el("label", "field");
    wrap.dataset.field = arg.name;
    wrap.append(el("span", "label", `${arg.name}${arg.required ? " *" : ""}`));
    const input = el("input");
    input.type = "text";
    input.name = arg.name;
    if (index === 0 && rest) input.value = rest;
    if (arg.description) input.placeholder = arg.description;
    if (offersCompletion) {
      const list = el("datalist");
      list.id = `prompt-${arg.name}-suggestions`;
      input.setAttribute("list", list.id);
      input.addEventListener("input", async () => {
        const filled = Object.fromEntries(Object.entries(promptInputs).map(([k, node]) => [k, node.value]));
        const reply = await client.request(...completionComplete(entry.server, { type: "ref/prompt", name: entry.prompt.name }, arg.name, input.value, filled));
        if (reply.ok) list.replaceChildren(...reply.result.completion.values.map((value) => Object.assign(el("option"), { value })));
      });
      wrap.append(input, list);
    } else wrap.append(input);
    fields.append(wrap);
    promptInputs[arg.name] = input;
  });
  (Object.values(promptInputs)[0] ?? form.querySelector("button"))?.focus();
}

function closePromptForm() {
  document.getElementById("prompt-form").hidden = true;
  pendingPrompt = null;
  promptInputs = null;
}

document.getElementById("prompt-cancel").addEventListener("click", closePromptForm);

document.getElementById("prompt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!pendingPrompt) return;
  const { entry, command } = pendingPrompt;
  const filled = Object.fromEntries(Object.entries(promptInputs).map(([k, node]) => [k, node.value.trim()]));
  const missing = (entry.prompt.arguments ?? []).filter((a) => a.required && !filled[a.name]).map((a) => a.name);
  if (missing.length) return problem(`Fill in ${missing.join(", ")}`);
  const reply = await client.request(...promptsGet(entry.server, entry.prompt.name, filled));
  if (!reply.ok) return problem(reply.error.message);
  closePromptForm();
  problem(null);
  const words = promptText(reply.result.messages);
  const embedded = promptResources(reply.result.messages);
  if (!llmReady) {
    // No model to send it to: show what the prompt says.
    say("user", `${command} ${Object.values(filled).filter(Boolean).join(" ")}`.trim());
    say("assistant", words || "(the prompt has no text)");
    return;
  }
  await sendToModel(words, { shown: `${command}: ${words}`, embedded });
});

/** Slash commands: tools straight from the panel, for when no model is configured. */

async function loadConfig() {
  const reply = await client.request(...configGet());
  if (reply.ok) llmReady = reply.result.llm.has_api_key || !reply.result.llm.base_url.includes("openrouter.ai");
}

async function loadConversations() {
  const reply = await client.request(...chatList());
  if (!reply.ok) return;
  conversations.replaceChildren(el("option", "", "New conversation"), ...reply.result.conversations.map((c) => {
    const option = el("option", "", c.title);
    option.value = c.id;
    return option;
  }));
  conversations.firstChild.value = "";
  if (conversationId) conversations.value = conversationId;
}

/** Bind the panel to a conversation (or to none, until the next message starts one). */
function bind(id) {
  conversationId = id || null;
  if (tabId !== null) {
    const change = conversationId ? chrome.storage.session.set({ [remembered]: conversationId }) : chrome.storage.session.remove(remembered);
    change.catch(() => {});
  }
}

async function openConversation(id) {
  bind(id);
  log.replaceChildren();
  cards.clear();
  current = null;
  if (!id) return;
  const reply = await client.request(...chatHistory(id));
  if (!reply.ok) return problem(reply.error.message);
  for (const message of reply.result.messages) {
    if (message.role === "user") say("user", message.display ?? message.content);
    else if (message.role === "assistant" && message.content) say("assistant", message.content);
  }
}

/** The panel's tab as context ({url, title, selection, text}), or null after saying why it cannot be read. */
async function pageContext() {
  const reply = await client.call("page.context", { tabId });
  if (!reply.ok) problem(reply.error.message);
  return reply.ok ? reply.result : null;
}

/** Run a tool from the panel itself (a slash command, Save page), on a card of its own that Stop can cancel. */
async function runTool({ server, tool, arguments: args }) {
  const call = client.start(...toolCall(server, tool, args), 130_000);
  const shown = { call_id: call.id, server, tool, arguments: args };
  toolCard({ ...shown, status: "running" });
  calls.add(call.id);
  showRunning();
  const started = performance.now();
  const reply = await call.reply;
  calls.delete(call.id);
  showRunning();
  const duration_ms = Math.round(performance.now() - started);
  if (reply.ok) toolCard({ ...shown, status: "done", result: reply.result, duration_ms });
  else toolCard({ ...shown, status: reply.error.code === "cancelled" ? "cancelled" : "error", error: reply.error.message, duration_ms });
  return reply;
}

async function slash(command) {
  let call;
  try {
    call = slashCommand(command);
  } catch (error) {
    return problem(error.message);
  }
  say("user", command);
  await runTool(call);
}

document.getElementById("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = text.value.trim();
  if (!question) return;
  text.value = "";
  problem(null);
  mentions.hidden = true;
  const prompt = matchPromptCommand(question, commands);
  if (prompt) return showPromptForm(prompt);
  if (question.startsWith("/")) return slash(question);
  if (!llmReady) {
    text.value = question;
    return problem("No chat model is set up: add one in the options page, or use /search, /sql or /tool.");
  }
  await sendToModel(question, { restore: question });
});

/** One turn with the model: `question` with the page (if asked for) and the attached resources as context. */
async function sendToModel(question, { shown = question, restore = null, embedded = [] } = {}) {
  let context = null;
  if (document.getElementById("use-page").checked) {
    context = await pageContext();
    if (!context) {
      if (restore !== null) text.value = restore; // nothing was sent; the reason is shown
      return;
    }
  }
  if (attachments.length || embedded.length) {
    const read = await attachedContext(embedded);
    if (!read) {
      if (restore !== null) text.value = restore;
      return;
    }
    context = { ...(context ?? {}), resources: read };
    attachments.length = 0;
    showAttachments();
  }
  if (!conversationId) {
    // Start the conversation first, so every event of its first turn already carries an id this panel knows.
    const started = await client.request(...chatNew());
    if (!started.ok) return problem(started.error.message);
    bind(started.result.conversation_id);
  }
  say("user", shown);
  current = null;
  turn = true;
  showRunning();
  const asked = conversationId;
  const sent = client.request(...chatSend(question, asked, context), 10 * 60_000);
  loadConversations(); // asked after the send, so the list already has this conversation under its first line
  const reply = await sent;
  turn = false;
  showRunning();
  if (conversationId === asked) {
    // (The person may have switched to another conversation meanwhile: then this answer is not for this log.)
    if (reply.ok && !current && reply.result.text) say("assistant", reply.result.text);
    if (!reply.ok) problem(reply.error.message);
  }
  loadConversations();
}

/** Stop shows while this panel runs anything; Send waits for its turn to end (the host refuses a second one). */
function showRunning() {
  document.getElementById("stop").hidden = !turn && calls.size === 0;
  document.getElementById("send").disabled = turn;
}

text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    // With the `@` list open, Enter attaches its first resource.
    const first = mentions.hidden ? null : mentions.querySelector("button");
    if (first) first.click();
    else document.getElementById("ask").requestSubmit();
  }
});
document.getElementById("stop").addEventListener("click", () => {
  for (const id of calls) client.cancelTool(id); // each call's card then says "cancelled"
  if (turn && conversationId) client.request(...chatCancel(conversationId));
});
conversations.addEventListener("change", () => openConversation(conversations.value));
document.getElementById("delete").addEventListener("click", async () => {
  if (!conversationId) return;
  await client.request(...chatDelete(conversationId));
  openConversation(null);
  loadConversations();
});
document.getElementById("close").addEventListener("click", () => {
  // The background disables this tab's side panel, which closes it; window.close() covers a panel shown elsewhere.
  client.post("panel.close", { tabId });
  window.close();
});
document.getElementById("save-page").addEventListener("click", () => {
  document.getElementById("save-form").hidden = !document.getElementById("save-form").hidden;
});
document.getElementById("save-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const page = await pageContext();
  if (!page) return;
  form.hidden = true;
  await runTool(savePage(page, form.database.value, form.title_property.value));
});

/** Reopened on a tab whose chat had a conversation: show it again. */
async function restore() {
  if (tabId === null) return;
  const stored = (await chrome.storage.session.get(remembered).catch(() => ({})))[remembered];
  if (stored && !conversationId) {
    const reply = await client.request(...chatHistory(stored));
    if (reply.ok) await openConversation(stored);
    else bind(null);
  }
}

// data-ready: the panel has its configuration and conversations and can take a message (the browser tests wait for it).
Promise.all([loadConfig(), restore().then(loadConversations)]).finally(() => (document.body.dataset.ready = "true"));
