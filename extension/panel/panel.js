// The chat panel, shown in Chrome's side panel for one tab (panel.html?tab=<id>): a conversation with the model,
// whose tool calls run on every connected server; write calls wait here for the person's approval.
// The panel is bound to its tab (what "Use this page" reads) and to one conversation, which it starts with
// chat.new before its first message or picks from the list; it shows that conversation's events and no others.
// Without a model configured, slash commands call tools directly. Stop ends whatever this panel has running: its
// chat turn (chat.cancel) and its own tool calls (tool.cancel, by the id each tool.call went with).
// Answers render as Markdown (shared/markdown.js); each turn shows what it used and the conversation's total, and a
// divider marks where earlier turns stopped being sent to the model. The last answer can be regenerated and the
// last message edited and sent again; conversations can be searched, renamed, exported and saved to Notion.

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
  configGet,
  saveConversation,
  savePage,
  slashCommand,
  toolCall,
} from "../shared/host-requests.js";
import { renderMarkdown } from "../shared/markdown.js";
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
let turn = false; // this panel's chat turn is running
const calls = new Set(); // the ids of this panel's own tool.call requests in flight
let editing = false; // the next Send replaces the last message (chat.edit)
const search = document.getElementById("search");

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

/** A bubble; `turn` marks the person's message that starts a chat turn (not a slash command's echo). */
function say(role, content, { turn: startsTurn = false } = {}) {
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
  regenerate.addEventListener("click", () => {
    dropAfter(starts[starts.length - 1]);
    runTurn(chatRegenerate(conversationId));
  });
  const edit = el("button", "edit", "Edit last message");
  edit.type = "button";
  edit.addEventListener("click", () => {
    editing = true;
    text.value = starts[starts.length - 1].textContent;
    document.getElementById("send").textContent = "Resend";
    text.focus();
  });
  row.append(regenerate, edit);
  log.append(row);
}

/** Take everything after `node` off the log (and its tool cards out of the map): it is about to be replaced. */
function dropAfter(node) {
  while (node.nextSibling) node.nextSibling.remove();
  for (const [id, card] of cards) if (!card.isConnected) cards.delete(id);
  current = null;
}

function stopEditing() {
  editing = false;
  document.getElementById("send").textContent = "Send";
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
  } else if (event.type === "chat.usage") {
    log.append(el("div", "turn-usage", usageWords(event.turn, event.estimated)));
    showTotal(event.conversation);
  } else if (event.type === "chat.context") {
    markLeftOut(event);
  } else if (event.type === "chat.error") {
    problem(event.message);
  }
}

// Every panel hears every conversation's events; this one shows its own conversation's, and none before it has one.
client.onEvent((event) => isOwnEvent(event, conversationId), onEvent);
client.onState((state) => {
  status = state.status;
  const commands = [];
  for (const server of status?.servers ?? []) {
    if (server.state === "connected") commands.push(`/tool ${server.id}.`);
  }
  document.getElementById("commands").replaceChildren(...["/search ", "/sql SELECT ", ...commands].map((c) => Object.assign(el("option"), { value: c })));
});

async function loadConfig() {
  const reply = await client.request(...configGet());
  if (reply.ok) llmReady = reply.result.llm.has_api_key || !reply.result.llm.base_url.includes("openrouter.ai");
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
  current = null;
  stopEditing();
  showTotal(null);
  if (!id) return;
  const reply = await client.request(...chatHistory(id));
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

/** Slash commands: tools straight from the panel, for when no model is configured. */
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
  if (question.startsWith("/")) return slash(question);
  if (!llmReady) return problem("No chat model is set up: add one in the options page, or use /search, /sql or /tool.");
  let context = null;
  if (document.getElementById("use-page").checked) {
    context = await pageContext();
    if (!context) {
      text.value = question; // nothing was sent; the reason is shown
      return;
    }
  }
  if (editing && conversationId) {
    // The last message, changed: it and everything after it are replaced by the new turn.
    const starts = log.querySelectorAll(".msg.user[data-turn]");
    const last = starts[starts.length - 1];
    if (last) {
      dropAfter(last);
      last.remove();
    }
    stopEditing();
    say("user", question, { turn: true });
    return runTurn(chatEdit(conversationId, question, context));
  }
  if (!conversationId) {
    // Start the conversation first, so every event of its first turn already carries an id this panel knows.
    const started = await client.request(...chatNew());
    if (!started.ok) return problem(started.error.message);
    bind(started.result.conversation_id);
  }
  say("user", question, { turn: true });
  return runTurn(chatSend(question, conversationId, context));
});

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
    if (!reply.ok) problem(reply.error.message);
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
    document.getElementById("ask").requestSubmit();
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
document.getElementById("save-chat").addEventListener("click", () => {
  if (!needConversation()) return;
  const form = document.getElementById("save-chat-form");
  form.hidden = !form.hidden;
});
document.getElementById("save-chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const exported = await client.request(...chatExport(conversationId));
  if (!exported.ok) return problem(exported.error.message);
  let call;
  try {
    call = saveConversation(exported.result, form.parent.value, form.kind.value, form.title_property.value);
  } catch (error) {
    return problem(error.message);
  }
  form.hidden = true;
  await runTool(call);
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
