// The chat panel, shown in Chrome's side panel for one tab (panel.html?tab=<id>): a conversation with the model,
// whose tool calls run on every connected server; write calls wait here for the person's approval.
// The panel is bound to its tab (what "Use this page" reads) and to one conversation, which it starts with
// chat.new before its first message or picks from the list; it shows that conversation's events and no others.
// Without a model configured, slash commands call tools directly.

import { BridgeClient } from "../shared/bridge-client.js";
import { boundTab, isOwnEvent } from "../shared/chat-panel.js";
import { renderMarkdown } from "../shared/markdown.js";

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
  if (event.error) card.append(el("p", "error", event.error));
  if (event.status === "awaiting_approval") {
    const row = el("div", "actions");
    for (const [label, approve, always] of [["Approve", true, false], ["Always allow", true, true], ["Deny", false, false]]) {
      const button = el("button", approve ? "connect" : "", label);
      button.type = "button";
      button.addEventListener("click", async () => {
        row.querySelectorAll("button").forEach((b) => (b.disabled = true));
        const reply = await client.request("chat.approve", { conversation_id: event.conversation_id, call_id: event.call_id, approve, always });
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
    const body = (event.result.content ?? []).map((b) => (b.type === "text" ? b.text : JSON.stringify(b))).join("\n");
    details.append(el("pre", "", body));
    card.append(details);
  }
  log.scrollTop = log.scrollHeight;
}

function onEvent(event) {
  // Every panel hears every conversation's events; this one shows its own conversation's, and none before it has one.
  if (!isOwnEvent(event, conversationId)) return;
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

client.port.onMessage.addListener((message) => {
  if (message.type === "event") onEvent(message.event);
});
client.onState((state) => {
  status = state.status;
  const commands = [];
  for (const server of status?.servers ?? []) {
    if (server.state === "connected") commands.push(`/tool ${server.id}.`);
  }
  document.getElementById("commands").replaceChildren(...["/search ", "/sql SELECT ", ...commands].map((c) => Object.assign(el("option"), { value: c })));
});

async function loadConfig() {
  const reply = await client.request("config.get");
  if (reply.ok) llmReady = reply.result.llm.has_api_key || !reply.result.llm.base_url.includes("openrouter.ai");
}

async function loadConversations() {
  const reply = await client.request("chat.list");
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
  const reply = await client.request("chat.history", { conversation_id: id });
  if (!reply.ok) return problem(reply.error.message);
  for (const message of reply.result.messages) {
    if (message.role === "user") say("user", message.display ?? message.content);
    else if (message.role === "assistant" && message.content) say("assistant", message.content);
  }
}

/** The panel's tab as context ({url, title, selection, text}), or null after saying why it cannot be read. */
async function pageContext() {
  const reply = await client.request("page.context", { tab_id: tabId });
  if (!reply.ok) problem(reply.error.message);
  return reply.ok ? reply.result : null;
}

/** Slash commands: tools straight from the panel, for when no model is configured. */
async function slash(command) {
  const [, verb, rest = ""] = /^\/(\w+)\s*([\s\S]*)$/.exec(command) ?? [];
  let server;
  let tool;
  let args;
  if (verb === "search") [server, tool, args] = ["notion", "notion-search", { query: rest.trim() }];
  else if (verb === "sql") [server, tool, args] = ["sqlite", "read_query", { query: rest.trim() }];
  else if (verb === "tool") {
    const match = /^([\w-]+)\.([\w.-]+)\s*([\s\S]*)$/.exec(rest.trim());
    if (!match) return problem("use /tool server.tool {json arguments}");
    try {
      [server, tool, args] = [match[1], match[2], match[3] ? JSON.parse(match[3]) : {}];
    } catch (error) {
      return problem(`the arguments are not JSON: ${error.message}`);
    }
  } else return problem(`unknown command /${verb ?? ""}; try /search, /sql or /tool`);
  say("user", command);
  const callId = `slash-${Date.now()}`;
  toolCard({ call_id: callId, server, tool, arguments: args, status: "running" });
  const started = performance.now();
  const reply = await client.request("tool.call", { server, tool, arguments: args }, 130_000);
  const duration_ms = Math.round(performance.now() - started);
  if (reply.ok) toolCard({ call_id: callId, server, tool, arguments: args, status: "done", result: reply.result, duration_ms });
  else toolCard({ call_id: callId, server, tool, arguments: args, status: "error", error: reply.error.message, duration_ms });
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
  if (!conversationId) {
    // Start the conversation first, so every event of its first turn already carries an id this panel knows.
    const started = await client.request("chat.new", {});
    if (!started.ok) return problem(started.error.message);
    bind(started.result.conversation_id);
  }
  say("user", question);
  current = null;
  running(true);
  const asked = conversationId;
  const sent = client.request("chat.send", { text: question, conversation_id: asked, ...(context ? { context } : {}) }, 10 * 60_000);
  loadConversations(); // asked after the send, so the list already has this conversation under its first line
  const reply = await sent;
  running(false);
  if (conversationId === asked) {
    // (The person may have switched to another conversation meanwhile: then this answer is not for this log.)
    if (reply.ok && !current && reply.result.text) say("assistant", reply.result.text);
    if (!reply.ok) problem(reply.error.message);
  }
  loadConversations();
});

/** While this panel's turn runs: Stop instead of Send (the host refuses a second turn in one conversation). */
function running(yes) {
  document.getElementById("stop").hidden = !yes;
  document.getElementById("send").disabled = yes;
}

text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    document.getElementById("ask").requestSubmit();
  }
});
document.getElementById("stop").addEventListener("click", () => conversationId && client.request("chat.cancel", { conversation_id: conversationId }));
conversations.addEventListener("change", () => openConversation(conversations.value));
document.getElementById("delete").addEventListener("click", async () => {
  if (!conversationId) return;
  await client.request("chat.delete", { conversation_id: conversationId });
  openConversation(null);
  loadConversations();
});
document.getElementById("close").addEventListener("click", () => {
  // The background disables this tab's side panel, which closes it; window.close() covers a panel shown elsewhere.
  client.port.postMessage({ type: "panel.close", tabId });
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
  const content = `Source: ${page.url}\n\n${page.selection || page.text}`;
  const args = {
    parent: { database_id: form.database.value.trim() },
    pages: [{ properties: { [form.title_property.value.trim() || "Name"]: page.title || page.url }, content }],
  };
  const callId = `save-${Date.now()}`;
  toolCard({ call_id: callId, server: "notion", tool: "notion-create-pages", arguments: args, status: "running" });
  const reply = await client.request("tool.call", { server: "notion", tool: "notion-create-pages", arguments: args }, 130_000);
  toolCard({ call_id: callId, server: "notion", tool: "notion-create-pages", arguments: args, status: reply.ok ? "done" : "error", result: reply.ok ? reply.result : undefined, error: reply.ok ? undefined : reply.error.message });
  form.hidden = true;
});

/** Reopened on a tab whose chat had a conversation: show it again. */
async function restore() {
  if (tabId === null) return;
  const stored = (await chrome.storage.session.get(remembered).catch(() => ({})))[remembered];
  if (stored && !conversationId) {
    const reply = await client.request("chat.history", { conversation_id: stored });
    if (reply.ok) await openConversation(stored);
    else bind(null);
  }
}

// data-ready: the panel has its configuration and conversations and can take a message (the browser tests wait for it).
Promise.all([loadConfig(), restore().then(loadConversations)]).finally(() => (document.body.dataset.ready = "true"));
