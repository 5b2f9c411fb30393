// The chat panel, shown in Chrome's side panel for one tab (panel.html?tab=<id>): a conversation with the model,
// whose tool calls run on every connected server; write calls wait here for the person's approval.
// The panel is bound to its tab (what "Use this page" reads) and to one conversation, which it starts with
// chat.new before its first message or picks from the list; it shows that conversation's events and no others.
// Without a model configured, slash commands call tools directly. Stop ends whatever this panel has running: its
// chat turn (chat.cancel) and its own tool calls (tool.cancel, by the id each tool.call went with).
// Answers render as Markdown (shared/markdown.js); each turn shows what it used and the conversation's total, and a
// divider marks where earlier turns stopped being sent to the model. The last answer can be regenerated and the
// last message edited and sent again; conversations can be searched, renamed, exported and saved to Notion.
// Every message to the model (typed, Resend, Regenerate, a server's prompt, or a Notion form's Ask) runs through
// runTurn. The Notion forms, /search, Save page and Save chat act in one Notion workspace: the only one, or the one
// picked above. `@` attaches a server's resource to the message (its contents go along as context); each server's
// prompts are slash commands beside /search, /sql and /tool, with a form for their arguments. Tool cards show the
// server's progress as a bar.

import { BridgeClient } from "../shared/bridge-client.js";
import { boundTab, isOwnEvent } from "../shared/chat-panel.js";
import {
  chatApprove,
  chatCancel,
  chatDelete,
  chatEdit,
  chatExport,
  chatHistory,
  chatList,
  chatNew,
  chatRegenerate,
  chatRename,
  chatSearch,
  chatSend,
  completionComplete,
  configGet,
  promptsGet,
  promptsList,
  resourcesList,
  resourcesRead,
  saveConversation,
  savePage,
  serverConnect,
  serverEnable,
  slashCommand,
  toolCall,
  toolsList,
} from "../shared/host-requests.js";
import { fixesFor, resultProblem } from "../shared/fixes.js";
import { introModel } from "../shared/intro.js";
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
import { busyAfter, notice } from "../shared/notice.js";
import { NotionForms } from "../shared/notion-forms.js";
import { isNotionServer, quickActionsFor } from "../shared/notion-quick.js";
import { progressBar } from "../shared/progress.js";
import { contentsForModel } from "../shared/render-resource.js";
import { renderResult } from "../shared/render-result.js";
import { resultSummary } from "../shared/result-table.js";

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
const direct = new Map(); // call id -> the call ({server, tool, arguments}) of a card this panel ran itself
const openCards = new Set(); // call ids of the model's cards the person opened
let llmKnown = false; // the configuration has been read (until then the intro does not claim there is no model)
let hostState = null;
let editing = false; // the next Send replaces the last message (chat.edit)
let resources = []; // [{server, serverName, uri, name, title}] of connected servers that offer resources
let commands = new Map(); // "/prompt" -> {server, serverName, prompt}
const attachments = []; // resources attached to the next message: {server, serverName, uri, title}
const search = document.getElementById("search");

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

/** Say what went wrong, with the buttons that fix it (shared/fixes.js); `retry` is what Retry does. */
function problem(message, fixes = [], retry = null) {
  const node = document.getElementById("problem");
  node.hidden = !message;
  node.replaceChildren();
  if (!message) return;
  node.append(notice(message, fixes, (action) => fix(action, retry)));
}

/** Carry out a fix offered beside an error. */
async function fix(action, retry) {
  if (action.kind === "options") return chrome.tabs.create({ url: chrome.runtime.getURL("options/options.html") });
  if (action.kind === "new-chat") {
    problem(null);
    await openConversation(null);
    return loadConversations();
  }
  if (action.kind === "connect" || action.kind === "reconnect-server") {
    const reply = await client.request(...serverConnect(action.server), 6 * 60_000);
    if (!reply.ok) return problem(reply.error.message);
    if (reply.result.state === "connected") problem(null);
    if (reply.result.state === "connected" && retry) return retry();
    return;
  }
  if (action.kind === "enable") return client.request(...serverEnable(action.server, true));
  if (action.kind === "reconnect" || action.kind === "install") return client.reconnect();
  if ((action.kind === "retry" || action.kind === "wait") && retry) {
    problem(null);
    return retry();
  }
}

/** A bubble; `turn` marks the person's message that starts a chat turn (not a slash command's echo). */
function say(role, content, { turn: startsTurn = false } = {}) {
  hideIntro();
  const node = el("div", `msg ${role}`);
  if (role === "assistant") renderMarkdown(node, content);
  else node.textContent = content;
  if (startsTurn) node.dataset.turn = "true";
  log.append(node);
  log.scrollTop = log.scrollHeight;
  return node;
}

const number = (n) => Number(n ?? 0).toLocaleString("en-US");

function money(cost) {
  if (cost === null || cost === undefined) return "";
  if (cost === 0) return "$0";
  return cost < 0.01 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
}

/** "1,234 in · 56 out · $0.0012": tokens to and from the model, and the cost when the prices are known. */
function usageWords(usage, estimated = false) {
  const cost = money(usage.cost);
  return `${estimated ? "≈ " : ""}${number(usage.prompt_tokens)} in · ${number(usage.completion_tokens)} out${cost ? ` · ${cost}` : ""}`;
}

function showTotal(usage) {
  const node = document.getElementById("usage");
  node.textContent = usage && (usage.prompt_tokens || usage.completion_tokens) ? `This chat: ${usageWords(usage)}` : "";
}

/** The divider before the first turn the model was still sent whole (chat.context's left_out_turns). */
function markLeftOut(context) {
  log.querySelectorAll(".left-out").forEach((node) => node.remove());
  const count = context?.left_out_turns ?? 0;
  if (!count) return;
  const first = log.querySelectorAll(".msg.user[data-turn]")[count];
  if (!first) return;
  const words = context.summarized
    ? `The ${count} earlier turn${count === 1 ? " reaches" : "s reach"} the model only as a summary`
    : `The ${count} earlier turn${count === 1 ? " is" : "s are"} no longer sent to the model (its context is ${number(context.context_length)} tokens)`;
  first.before(el("div", "left-out", words));
}

/** The last turn's own buttons: answer it again, or change the message and send it again. */
function showTurnActions() {
  log.querySelectorAll(".turn-actions").forEach((node) => node.remove());
  const starts = log.querySelectorAll(".msg.user[data-turn]");
  if (!conversationId || turn || !starts.length) return;
  const row = el("div", "turn-actions");
  const regenerate = el("button", "regenerate", "Regenerate");
  regenerate.type = "button";
  regenerate.title = "Answer the last message again";
  regenerate.addEventListener("click", regenerateLast);
  const edit = el("button", "edit", "Edit last message");
  edit.type = "button";
  edit.addEventListener("click", () => {
    editing = true;
    const last = starts[starts.length - 1];
    text.value = last.dataset.message ?? last.textContent;
    document.getElementById("send").textContent = "Resend";
    text.focus();
  });
  row.append(regenerate, edit);
  log.append(row);
}

/** Answer the person's last message again (Regenerate, and Retry after a failed turn). */
function regenerateLast() {
  const starts = log.querySelectorAll(".msg.user[data-turn]");
  if (!conversationId || turn || !starts.length) return;
  dropAfter(starts[starts.length - 1]);
  runTurn(chatRegenerate(conversationId));
}

/** Take everything after `node` off the log (and its tool cards out of the map): it is about to be replaced. */
function dropAfter(node) {
  while (node.nextSibling) node.nextSibling.remove();
  for (const [id, card] of cards) {
    if (!card.isConnected) {
      cards.delete(id);
      bars.delete(id);
    }
  }
  current = null;
}

function stopEditing() {
  editing = false;
  document.getElementById("send").textContent = "Send";
}

// What a tool card's status says to the person (the host's statuses are identifiers, card[data-status] keeps them).
const STATUS_WORDS = {
  awaiting_approval: "Needs your approval",
  running: "Running",
  done: "Done",
  denied: "Declined",
  error: "Failed",
  cancelled: "Cancelled",
};

/**
 * A tool call's card. The panel's own calls (a slash command, Save page) show their result open, as a
 * table when it is tabular and as Markdown when it is text, with the arguments folded away. A Notion form's Run draws
 * its result in the form, so its card stays one line, as the model's do. The model's calls stay
 * one line (status, server, tool and what the result holds) that opens on demand; one awaiting approval shows
 * what it would send, open, with the buttons.
 */
function toolCard(event) {
  let card = cards.get(event.call_id);
  if (!card) {
    hideIntro();
    card = el("div", "toolcard");
    card.dataset.call = event.call_id;
    cards.set(event.call_id, card);
    log.append(card);
    current = null; // text after a tool call starts a new bubble
  }
  const mine = direct.has(event.call_id); // started by this panel: its refusals carry their fix
  const own = mine && !direct.get(event.call_id).compact; // shown open
  card.classList.toggle("direct", own);
  card.dataset.status = event.status;
  card.replaceChildren();
  const statusWords = (STATUS_WORDS[event.status] ?? event.status) + (event.duration_ms !== undefined ? ` · ${event.duration_ms} ms` : "");
  const title = `${event.server_name ?? event.server ?? ""} · ${event.tool ?? ""}`;
  const head = (into) => {
    const status = el("span", `status ${event.status}`, statusWords);
    if (event.status === "running") {
      const spinner = el("span", "spinner");
      spinner.setAttribute("aria-hidden", "true");
      status.prepend(spinner, " ");
    }
    into.append(status, el("strong", "", title));
  };
  const args = () => el("pre", "args", JSON.stringify(event.arguments, null, 2));
  const resultBody = () => {
    const body = el("div", "result");
    renderResult(body, event.result, { markdown: true }); // the tool runner's renderer: a table, Markdown, a JSON tree
    return body;
  };
  let inner = card;
  if (own) {
    head(card);
    if (event.arguments) {
      const folded = el("details", "args");
      folded.append(el("summary", "", "Arguments"), args());
      card.append(folded);
    }
    if (event.result) card.append(resultBody());
  } else {
    const awaiting = event.status === "awaiting_approval";
    const details = el("details", "call");
    details.open = awaiting || openCards.has(event.call_id);
    const summary = el("summary");
    // Only the person's own opening is remembered (a card awaiting approval opens by itself, and closes to one line
    // once answered); a click or Enter on the line flips it.
    summary.addEventListener("click", () => (details.open ? openCards.delete(event.call_id) : openCards.add(event.call_id)));
    head(summary);
    if (event.result) summary.append(el("span", "gist", ` — ${resultSummary(event.result)}`));
    details.append(summary);
    if (event.arguments) details.append(args());
    if (event.result) details.append(resultBody());
    card.append(details);
    inner = details;
  }
  if (event.status === "running" && bars.has(event.call_id)) inner.append(bars.get(event.call_id).node);
  else if (event.status !== "running") bars.delete(event.call_id);
  const refusal = mine && event.result ? resultProblem(event.result, event.server_name ?? event.server) : null;
  if (refusal) {
    const call = direct.get(event.call_id);
    const words = el("div", "error");
    words.append(notice(refusal.words, refusal.fixes.map((f) => ({ server: event.server, ...f })), (action) => fix(action, () => runTool(call, { compact: call.compact }))));
    card.append(words);
  }
  if (event.error) {
    const call = direct.get(event.call_id);
    const fixes = event.status === "cancelled" ? [] : fixesFor(event.failure ?? { code: "", message: event.error }, { server: event.server });
    const words = el("div", "error");
    words.append(notice(event.error, fixes, (action) => fix(action, call ? () => runTool(call, { compact: call.compact }) : null)));
    card.append(words);
  }
  if (event.status === "awaiting_approval") {
    const row = el("div", "actions");
    for (const [label, approve, always] of [["Approve", true, false], ["Always allow", true, true], ["Deny", false, false]]) {
      const button = el("button", approve ? "connect" : "", label);
      button.type = "button";
      button.addEventListener("click", async () => {
        row.querySelectorAll("button").forEach((b) => (b.disabled = true));
        const done = busyAfter(row, approve ? "Sending…" : "Declining…");
        const reply = await client.request(...chatApprove(event.conversation_id, event.call_id, approve, always));
        done();
        if (!reply.ok) {
          problem(reply.error.message);
          row.querySelectorAll("button").forEach((b) => (b.disabled = false));
        }
      });
      row.append(button);
    }
    card.append(row);
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
  } else if (event.type === "chat.usage") {
    log.append(el("div", "turn-usage", usageWords(event.turn, event.estimated)));
    showTotal(event.conversation);
  } else if (event.type === "chat.context") {
    markLeftOut(event);
  } else if (event.type === "chat.error") {
    problem(event.message, fixesFor({ code: "chat_failed", message: event.message }), regenerateLast);
  }
}

// Every panel hears every conversation's events; this one shows its own conversation's, and none before it has one.
client.onEvent((event) => isOwnEvent(event, conversationId), onEvent);

// A server's progress on a call of this panel's: the chat's (named by its conversation and the model's call id)
// or one of its own tool calls (named by the request's id).
client.onEvent("tool.progress", (event) => {
  const ours = event.conversation_id ? event.conversation_id === conversationId : calls.has(event.call_id);
  const card = cards.get(event.call_id);
  if (!ours || !card) return;
  let bar = bars.get(event.call_id);
  if (!bar) {
    bar = progressBar();
    bars.set(event.call_id, bar);
    const inner = card.querySelector("details.call") ?? card;
    const error = inner.querySelector(".error");
    if (error) error.before(bar.node);
    else inner.append(bar.node);
  }
  bar.update(event);
});

let serverSignature = "";
client.onState((state) => {
  hostState = state;
  status = state.status;
  const servers = state.host === "connected" ? (status?.servers ?? []) : [];
  updateWorkspaces(servers).catch(() => {});
  const connected = servers.filter((server) => server.state === "connected");
  const signature = connected.map((s) => `${s.id}:${(s.capabilities ?? []).join("+")}`).join(",");
  if (signature !== serverSignature) {
    serverSignature = signature;
    loadResources(connected);
    loadPrompts(connected);
  }
  showCommands();
  showIntro();
});

// A server's resources or prompts changed: ask again.
client.onEvent("server.list_changed", (event) => {
  const connected = (status?.servers ?? []).filter((server) => server.state === "connected");
  if (event.list === "resources") loadResources(connected);
  if (event.list === "prompts") loadPrompts(connected);
});

/** The commands the message box suggests: the panel's own (/search, /sql, /tool per server) and the servers' prompts. */
function showCommands() {
  const tools = (status?.servers ?? []).filter((s) => s.state === "connected").map((s) => `/tool ${s.id}.`);
  const values = ["/search ", "/sql SELECT ", ...tools, ...[...commands.keys()].map((c) => `${c} `)];
  document.getElementById("commands").replaceChildren(...values.map((c) => Object.assign(el("option"), { value: c })));
}

// --- the first screen: what is connected, what to try, the commands, and whether a model is set up ------------

/** Whether the log shows anything of a conversation (then the intro steps aside). */
const conversationShown = () => Boolean(log.querySelector(".msg, .toolcard"));

let introDrawn = ""; // what the intro on screen was drawn from: redrawn only when that changes

function hideIntro() {
  document.getElementById("intro")?.remove();
  introDrawn = "";
}

/** Draw the intro in the empty log from the latest state; nothing once the conversation has begun. */
function showIntro() {
  if (conversationShown() || conversationId) return hideIntro();
  const model = introModel(status?.servers ?? [], {
    model: llmReady || !llmKnown,
    notion: notionServers.map((s) => s.id),
    tools: toolNames,
    prompts: [...commands.keys()],
  });
  // Redrawn only when something it shows changed, so a button is never replaced under the pointer or the focus.
  const drawnFrom = JSON.stringify([hostState?.host, llmKnown, model]);
  if (drawnFrom === introDrawn && document.getElementById("intro")) return;
  introDrawn = drawnFrom;
  const intro = el("section", "intro");
  intro.id = "intro";
  intro.setAttribute("aria-label", "Getting started");
  if (!hostState || hostState.host === "connecting") {
    const waiting = el("div", "busy-line");
    const spinner = el("span", "spinner");
    spinner.setAttribute("aria-hidden", "true");
    waiting.append(spinner, el("span", "", "Starting the bridge…"));
    intro.append(waiting);
    for (let i = 0; i < 3; i++) intro.append(el("span", "skeleton"));
    return place(intro);
  }
  if (hostState.host === "missing") {
    intro.append(
      el("h2", "", "The bridge's host program is not installed"),
      notice("Install it once, in a terminal:", [{ kind: "install", command: "notion-bridge install" }, { kind: "reconnect", label: "Check again" }], (action) => fix(action)),
    );
    return place(intro);
  }
  if (llmKnown && model.noModel) {
    const line = notice("No chat model is set up — slash commands still work.", [{ kind: "options", label: "Set up a model" }], (action) => fix(action), { info: true });
    line.id = "no-model";
    intro.append(line);
  }
  intro.append(el("h2", "", model.nothingConnected ? "Nothing is connected yet" : "Connected"));
  const list = el("ul", "servers");
  for (const server of model.servers) {
    const item = el("li", `server ${server.state}`);
    item.dataset.server = server.id;
    const icon = el("span", "ws-icon", server.icon.emoji ?? "");
    icon.setAttribute("aria-hidden", "true");
    if (server.icon.initial) icon.append(el("span", "initial", server.icon.initial));
    item.append(icon, el("span", "name", server.name));
    if (server.tools !== null) item.append(el("span", "meta", `${server.tools} tool${server.tools === 1 ? "" : "s"}${server.notion ? " · Notion" : ""}`));
    else {
      const words = { needs_auth: "Needs sign-in", error: "Down", connecting: "Connecting" }[server.state] ?? server.state;
      const next = Number.isFinite(server.fix?.seconds) ? ` · next try in ${server.fix.seconds} s` : "";
      item.append(el("span", `badge ${server.state}`, words + next));
    }
    if (server.fix) {
      const button = el("button", "fix", server.fix.label);
      button.type = "button";
      button.dataset.fix = server.fix.kind;
      button.addEventListener("click", () => fix(server.fix));
      item.append(button);
    }
    list.append(item);
  }
  if (model.servers.length) intro.append(list);
  if (model.nothingConnected) intro.append(el("p", "meta", "Open the bridge's toolbar popup and press Connect on a server: its tools then show here, ready to use."));
  if (model.examples.length) {
    intro.append(el("h2", "", "Try"));
    const examples = el("ul", "examples");
    for (const example of model.examples) {
      const item = el("li");
      const button = el("button", "example", example);
      button.type = "button";
      button.title = "Put this in the message box";
      button.addEventListener("click", () => {
        text.value = example;
        text.focus();
      });
      item.append(button);
      examples.append(item);
    }
    intro.append(examples);
  }
  intro.append(el("h2", "", "Commands"));
  const table = el("dl", "commands");
  for (const command of model.commands) table.append(el("dt", "", command.usage), el("dd", "", command.words));
  intro.append(table, el("p", "meta", "@ attaches a server's resource to your message."));
  place(intro);
}

function place(intro) {
  const old = document.getElementById("intro");
  if (old) old.replaceWith(intro);
  else log.prepend(intro);
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
  showIntro();
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
      remove.setAttribute("aria-label", `Detach ${resource.title}`);
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
  // A prompt that only embeds resources still needs words for the model: its command says what was asked.
  const message = words || command;
  await sendToModel(message, { edit: editing, shown: words ? `${command}: ${words}` : command, embedded });
});

async function loadConfig() {
  const reply = await client.request(...configGet());
  if (reply.ok) llmReady = reply.result.llm.has_api_key || !reply.result.llm.base_url.includes("openrouter.ai");
  llmKnown = reply.ok;
  showIntro();
}

async function loadConversations() {
  const query = search.value.trim();
  const reply = await client.request(...(query ? chatSearch(query) : chatList()));
  if (!reply.ok) return;
  const found = reply.result.conversations;
  const first = query ? `${found.length} matching conversation${found.length === 1 ? "" : "s"}` : "New conversation";
  conversations.replaceChildren(el("option", "", first), ...found.map((c) => {
    const option = el("option", "", query ? `${c.title} — ${c.snippet}` : c.title);
    option.value = c.id;
    return option;
  }));
  conversations.firstChild.value = "";
  if (conversationId && found.some((c) => c.id === conversationId)) conversations.value = conversationId;
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
  bars.clear();
  current = null;
  stopEditing();
  showTotal(null);
  if (!id) return showIntro();
  hideIntro();
  const done = busyAfter(log, "Opening the conversation…");
  const reply = await client.request(...chatHistory(id));
  done();
  if (!reply.ok) return problem(reply.error.message);
  for (const message of reply.result.messages) {
    if (message.role === "user" && !message.synthetic) say("user", message.display ?? message.content, { turn: true });
    else if (message.role === "assistant" && message.content) say("assistant", message.content);
  }
  showTotal(reply.result.usage);
  markLeftOut(reply.result.context);
  showTurnActions();
}

/** The panel's tab as context ({url, title, selection, text}), or null after saying why it cannot be read. */
async function pageContext() {
  const reply = await client.call("page.context", { tabId });
  if (!reply.ok) problem(reply.error.message);
  return reply.ok ? reply.result : null;
}

/** Run a tool from the panel itself (a slash command, Save page), on a card of its own that Stop can cancel. */
async function runTool({ server, tool, arguments: args }, { compact = false } = {}) {
  const call = client.start(...toolCall(server, tool, args), 130_000);
  // The card names the server as its status does: a Notion workspace's card says which workspace.
  const server_name = status?.servers?.find((s) => s.id === server)?.name ?? server;
  const shown = { call_id: call.id, server, server_name, tool, arguments: args };
  direct.set(call.id, { server, tool, arguments: args, compact });
  toolCard({ ...shown, status: "running" });
  calls.add(call.id);
  showRunning();
  const started = performance.now();
  const reply = await call.reply;
  calls.delete(call.id);
  showRunning();
  const duration_ms = Math.round(performance.now() - started);
  if (reply.ok) toolCard({ ...shown, status: "done", result: reply.result, duration_ms });
  else toolCard({ ...shown, status: reply.error.code === "cancelled" ? "cancelled" : "error", error: reply.error.message, failure: reply.error, duration_ms });
  return reply;
}

// --- Notion workspaces: which one /search, Save page and the forms use ---------------------------------------

const workspaceSelect = document.getElementById("workspace");
const LAST_WORKSPACE = "notion.lastWorkspace"; // the last one chosen, kept for every panel
let notionServers = []; // connected servers that are Notion workspaces: [{id, name, workspace}]
let lastWorkspace = null;
const notionTools = new Map(); // server id + tool count -> Promise<boolean>: whether it offers Notion's tools
const toolNames = {}; // server id -> its tools' names, once listed (the intro's /tool example)

function isNotion(server) {
  if (server.workspace) return Promise.resolve(true);
  const key = `${server.id}:${server.tools}`;
  if (!notionTools.has(key)) {
    notionTools.set(
      key,
      client.request(...toolsList(server.id)).then((reply) => {
        if (reply.ok) toolNames[server.id] = reply.result.tools.map((t) => t.name);
        return reply.ok && isNotionServer(toolNames[server.id]);
      }),
    );
  }
  return notionTools.get(key);
}

async function updateWorkspaces(servers) {
  const connected = servers.filter((s) => s.state === "connected");
  const flags = await Promise.all(connected.map(isNotion));
  notionServers = connected.filter((_, i) => flags[i]).map((s) => ({ id: s.id, name: s.workspace?.name ?? s.name, workspace: s.workspace }));
  const many = notionServers.length > 1;
  document.getElementById("workspace-bar").hidden = !many;
  const shown = workspaceSelect.value;
  const wanted = notionServers.some((s) => s.id === shown) ? shown : notionServers.some((s) => s.id === lastWorkspace) ? lastWorkspace : "";
  workspaceSelect.replaceChildren(
    ...(wanted ? [] : [Object.assign(el("option", "", "— which workspace? —"), { value: "" })]),
    ...notionServers.map((s) => Object.assign(el("option", "", `${s.workspace?.icon && !s.workspace.icon.startsWith("https://") ? `${s.workspace.icon} ` : ""}${s.name}`), { value: s.id })),
  );
  workspaceSelect.value = wanted;
  updateFormActions();
  showIntro();
}

/** The Notion workspace to act in: the only one, or the one chosen; null (after asking) when it is not clear. */
function chosenWorkspace() {
  if (!notionServers.length) {
    problem("No Notion workspace is connected: connect one in the toolbar popup.");
    return null;
  }
  if (notionServers.length === 1) return notionServers[0].id;
  if (notionServers.some((s) => s.id === workspaceSelect.value)) return workspaceSelect.value;
  document.getElementById("workspace-bar").classList.add("asking");
  workspaceSelect.focus();
  problem(`Which Notion workspace? ${notionServers.length} are connected: choose one above, then try again.`);
  return null;
}

workspaceSelect.addEventListener("change", () => {
  document.getElementById("workspace-bar").classList.remove("asking");
  problem(null);
  lastWorkspace = workspaceSelect.value || null;
  chrome.storage.local.set({ [LAST_WORKSPACE]: lastWorkspace }).catch(() => {});
  if (!document.getElementById("forms").hidden) showFormAction();
  if (!document.getElementById("save-form").hidden) showSaveForm("page");
  if (!document.getElementById("save-chat-form").hidden) showSaveForm("chat");
});

function workspaceName(server) {
  return notionServers.find((s) => s.id === server)?.name ?? server;
}

// --- the Notion forms: Run calls the tool (a card here), Ask sends the filled request to the model ---------------

const formHost = {
  client,
  server: chosenWorkspace,
  run: (server, tool, args) => runTool({ server, tool, arguments: args }, { compact: true }), // the form shows the result
  ask: (message) => sendToModel(message),
  problem,
  workspaceName,
};
const forms = new NotionForms(document.getElementById("form-area"), formHost);
const formAction = document.getElementById("form-action");

function updateFormActions() {
  const current = formAction.value;
  formAction.replaceChildren(...quickActionsFor(["notion-search", "notion-fetch", "notion-query-data-sources", "notion-create-pages", "notion-update-page", "notion-create-comment"])
    .map((a) => Object.assign(el("option", "", a.title), { value: a.id })));
  if (current) formAction.value = current;
}

function showFormAction() {
  forms.forget();
  forms.show(formAction.value);
}

formAction.addEventListener("change", showFormAction);
document.getElementById("open-forms").addEventListener("click", () => {
  const section = document.getElementById("forms");
  section.hidden = !section.hidden;
  if (!section.hidden) showFormAction();
});

/** Slash commands: tools straight from the panel, for when no model is configured. */
async function slash(command) {
  let call;
  try {
    const notion = /^\/search\b/.test(command) ? chosenWorkspace() : undefined;
    if (notion === null) return;
    call = slashCommand(command, notion);
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
  // A server's prompt first: its command may look like a slash command, but the built-in names never are prompts.
  const prompt = matchPromptCommand(question, commands);
  if (prompt) return showPromptForm(prompt);
  if (question.startsWith("/")) return slash(question);
  if (!(await sendToModel(question, { edit: editing }))) text.value = question; // nothing was sent; the reason is shown
});

/**
 * One turn with the model: the person's message (typed, a server's prompt, or a form's request), with the page when
 * asked to and the attached resources (and a prompt's `embedded` ones) as context. With `edit` (Resend after "Edit
 * last message") it replaces the last message and what followed it (chat.edit); otherwise it starts the conversation
 * first when there is none (chat.new) and sends it (chat.send). `shown` is the bubble's text when it is not the
 * message itself (a prompt shows its command). Resolves, when the turn has ended, whether it was sent at all (when
 * not, the reason is shown and the attachments stay for the next try).
 */
async function sendToModel(question, { edit = false, shown = question, embedded = [] } = {}) {
  if (!llmReady) {
    problem("No chat model is set up: add one in the options page, or use /search, /sql or /tool.", [{ kind: "options", label: "Open options" }]);
    return false;
  }
  if (turn) {
    problem("The model is still answering; wait for it or press Stop.");
    return false;
  }
  let context = null;
  if (document.getElementById("use-page").checked) {
    context = await pageContext();
    if (!context) return false;
  }
  if (attachments.length || embedded.length) {
    const read = await attachedContext(embedded);
    if (!read) return false;
    context = { ...(context ?? {}), resources: read };
  }
  const sending = () => {
    attachments.length = 0;
    showAttachments();
    const bubble = say("user", shown, { turn: true });
    bubble.dataset.message = question; // what "Edit last message" puts back in the box
  };
  if (edit && conversationId) {
    // The last message, changed: it and everything after it are replaced by the new turn.
    const starts = log.querySelectorAll(".msg.user[data-turn]");
    const last = starts[starts.length - 1];
    if (last) {
      dropAfter(last);
      last.remove();
    }
    stopEditing();
    sending();
    await runTurn(chatEdit(conversationId, question, context));
    return true;
  }
  // A new message (a form's Ask among them) makes a pending "Edit last message" moot: the last message changes.
  stopEditing();
  if (!conversationId) {
    // Start the conversation first, so every event of its first turn already carries an id this panel knows.
    const started = await client.request(...chatNew());
    if (!started.ok) {
      problem(started.error.message);
      return false;
    }
    bind(started.result.conversation_id);
  }
  sending();
  await runTurn(chatSend(question, conversationId, context));
  return true;
}

/** Run a turn of this panel's conversation (chat.send, chat.regenerate or chat.edit) to its end. */
async function runTurn(request) {
  current = null;
  turn = true;
  showRunning();
  showTurnActions();
  const asked = conversationId;
  const sent = client.request(...request, 10 * 60_000);
  loadConversations(); // asked after the send, so the list already has this conversation under its first line
  const reply = await sent;
  turn = false;
  showRunning();
  if (conversationId === asked) {
    // (The person may have switched to another conversation meanwhile: then this answer is not for this log.)
    if (reply.ok && !current && reply.result.text) say("assistant", reply.result.text);
    if (!reply.ok && reply.error.code !== "cancelled") problem(reply.error.message, fixesFor(reply.error), regenerateLast);
    showTurnActions();
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
  } else if (event.key === "Escape" && !mentions.hidden) {
    mentions.hidden = true;
  } else if (event.key === "Escape" && editing) {
    stopEditing();
    text.value = "";
  }
});
document.getElementById("stop").addEventListener("click", () => {
  for (const id of calls) client.cancelTool(id); // each call's card then says "cancelled"
  if (turn && conversationId) client.request(...chatCancel(conversationId));
});
conversations.addEventListener("change", () => openConversation(conversations.value));
let searching = null;
search.addEventListener("input", () => {
  clearTimeout(searching);
  searching = setTimeout(loadConversations, 250);
});

/** The conversation's id, or null after saying that there is none yet. */
function needConversation() {
  if (!conversationId) problem("Start or pick a conversation first.");
  return conversationId;
}

document.getElementById("rename").addEventListener("click", () => {
  if (!needConversation()) return;
  const form = document.getElementById("rename-form");
  form.hidden = !form.hidden;
  form.title.value = conversations.selectedOptions[0]?.textContent.split(" — ")[0] ?? "";
  form.title.focus();
});
document.getElementById("rename-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const reply = await client.request(...chatRename(conversationId, form.title.value));
  if (!reply.ok) return problem(reply.error.message);
  form.hidden = true;
  loadConversations();
});
document.getElementById("export").addEventListener("click", async () => {
  if (!needConversation()) return;
  const reply = await client.request(...chatExport(conversationId));
  if (!reply.ok) return problem(reply.error.message);
  const link = el("a");
  link.href = URL.createObjectURL(new Blob([reply.result.markdown], { type: "text/markdown" }));
  link.download = `${reply.result.title.replace(/[^\w -]+/g, "").trim().slice(0, 80) || "conversation"}.md`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
});
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
// --- Save to Notion (this page, or this conversation): where it goes is picked in the chosen workspace, never
// typed as an id. Both use the same picker: a page, or a data source of a database (one of its data sources, when
// it has several), so a row goes in with data_source_id and never a database_id Notion could not place.

const saver = new NotionForms(document.getElementById("save-where"), formHost);
const saving = {
  page: { section: "save-form", where: "save-where", what: "the page", server: null, parent: null },
  chat: { section: "save-chat-form", where: "save-chat-where", what: "the conversation", server: null, parent: null },
};

function showSaveForm(which) {
  const target = saving[which];
  target.parent = null;
  target.server = chosenWorkspace();
  const box = document.getElementById(target.where);
  box.replaceChildren();
  if (!target.server) return;
  const label = `Save ${which === "chat" ? "the conversation " : ""}into (a page or a database in ${workspaceName(target.server)})`;
  const where = saver.parentPicker(target.server, label, (parent) => {
    target.parent = parent;
  });
  box.append(where);
  where.search().catch((error) => problem(error.message));
}

function toggleSaveForm(which) {
  const section = document.getElementById(saving[which].section);
  section.hidden = !section.hidden;
  problem(null);
  if (!section.hidden) showSaveForm(which);
}

/** Where the save goes ({server, parent}), or null after saying what is missing. */
function saveTarget(which) {
  const { server, parent, what } = saving[which];
  if (!server || !parent) {
    problem(`Choose where to save ${what}: type a name and pick it from the list.`);
    return null;
  }
  return { server, parent };
}

document.getElementById("save-page").addEventListener("click", () => toggleSaveForm("page"));
document.getElementById("save-now").addEventListener("click", async () => {
  const target = saveTarget("page");
  if (!target) return;
  const page = await pageContext();
  if (!page) return;
  let call;
  try {
    call = savePage(page, target);
  } catch (error) {
    return problem(error.message);
  }
  document.getElementById("save-form").hidden = true;
  await runTool(call);
});

document.getElementById("save-chat").addEventListener("click", () => {
  if (!needConversation()) return;
  toggleSaveForm("chat");
});
document.getElementById("save-chat-now").addEventListener("click", async () => {
  if (!needConversation()) return;
  const target = saveTarget("chat");
  if (!target) return;
  const exported = await client.request(...chatExport(conversationId));
  if (!exported.ok) return problem(exported.error.message);
  let call;
  try {
    call = saveConversation(exported.result, target);
  } catch (error) {
    return problem(error.message);
  }
  document.getElementById("save-chat-form").hidden = true;
  await runTool(call);
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

const rememberedWorkspace = chrome.storage.local.get(LAST_WORKSPACE).then((stored) => {
  lastWorkspace = stored[LAST_WORKSPACE] ?? null;
  if (status) return updateWorkspaces(status.servers ?? []);
}).catch(() => {});

// data-ready: the panel has its configuration and conversations and can take a message (the browser tests wait for it).
Promise.all([loadConfig(), rememberedWorkspace, restore().then(loadConversations)]).finally(() => (document.body.dataset.ready = "true"));
