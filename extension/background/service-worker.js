// The background service worker: owns the native port to the host, relays requests from every page,
// keeps the last status for the popup, runs the browser step of OAuth, opens the chat's side panel, and shows a
// badge.

import { closeChat, openChat, unreadablePage } from "../shared/chat-panel.js";
import * as requests from "../shared/host-requests.js";
import { Backoff } from "./backoff.js";
import { ChunkJoiner } from "./chunks.js";
import { Correlator } from "./correlator.js";
import { BY_SEND_MESSAGE, dispatch, hostForwarder, pageHandlers, servePort } from "./page-handlers.js";

const HOST_NAME = "com.notion_mcp_bridge.host";
// After this many failed starts without a hello, stop retrying on a timer: the host is not installed or broken.
const GIVE_UP_AFTER = 5;

const bridge = {
  host: "connecting", // connecting | connected | missing
  hostError: null,
  hello: null,
  status: null,
  retryAt: null,
  questions: [], // servers' questions waiting for the person: elicitation.request and sampling.request (with its draft)
};

let port = null;
let joiner = new ChunkJoiner();
let failuresWithoutHello = 0;
let reconnectTimer = null;
const correlator = new Correlator({ prefix: "bg" });
const backoff = new Backoff();
const uiPorts = new Set();

// --- the native port -----------------------------------------------------------------------------------

function connect() {
  if (port) return;
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  joiner = new ChunkJoiner();
  update({ host: bridge.host === "missing" ? "missing" : "connecting", retryAt: null });
  try {
    port = chrome.runtime.connectNative(HOST_NAME);
  } catch (error) {
    port = null;
    hostLost(error.message);
    return;
  }
  port.onMessage.addListener(onFrame);
  port.onDisconnect.addListener(() => {
    // Chrome's own words: "Specified native messaging host not found.", "Native host has exited.", …
    const words = chrome.runtime.lastError?.message ?? "the host closed the connection";
    port = null;
    update({ questions: [] });
    hostLost(words);
  });
}

function hostLost(words) {
  correlator.failAll(`the host stopped: ${words}`);
  failuresWithoutHello += 1;
  if (failuresWithoutHello >= GIVE_UP_AFTER) {
    // The watchdog alarm still tries now and then, and the popup's Retry tries at once.
    update({ host: "missing", hostError: words, retryAt: null });
    return;
  }
  const delay = backoff.next();
  update({ host: "connecting", hostError: words, retryAt: Date.now() + delay });
  reconnectTimer = setTimeout(connect, delay);
}

function send(message) {
  if (!port) throw new Error(bridge.hostError ?? "the host is not running");
  port.postMessage(message);
}

async function onFrame(frame) {
  let message;
  try {
    message = joiner.accept(frame);
  } catch (error) {
    console.warn("dropped a malformed chunk:", error.message);
    return;
  }
  if (message === null) return;
  switch (message.type) {
    case "hello":
      failuresWithoutHello = 0;
      backoff.reset();
      update({ host: "connected", hostError: null, hello: message, retryAt: null });
      request(...requests.hello(await profileId())).then((reply) => reply.ok || console.warn("hello:", reply.error.message));
      break;
    case "status":
      update({ status: message });
      break;
    case "reply":
      correlator.settle(message);
      break;
    case "auth.open":
      signIn(message);
      break;
    case "elicitation.request":
      update({ questions: [...bridge.questions, message] });
      askThePerson();
      break;
    case "elicitation.closed":
      update({ questions: bridge.questions.filter((q) => q.elicitation_id !== message.elicitation_id) });
      break;
    case "sampling.request":
      // A server wants the model's answer: nothing goes to the model until the person approves in the popup.
      update({ questions: [...bridge.questions, message] });
      askThePerson();
      break;
    case "sampling.draft":
      // The model answered: the person sees it, may edit it, and sends it or not.
      update({
        questions: bridge.questions.map((q) => (q.sampling_id === message.sampling_id ? { ...q, draft: message } : q)),
      });
      askThePerson();
      break;
    case "sampling.closed":
      update({ questions: bridge.questions.filter((q) => q.sampling_id !== message.sampling_id) });
      broadcast({ type: "event", event: message });
      break;
    case "error":
      console.warn("host error:", message.error?.code, message.error?.message);
      if (message.error?.code === "forbidden_origin") update({ host: "missing", hostError: message.error.message });
      break;
    default:
      broadcast({ type: "event", event: message });
  }
}

/** The one path to the host, for the pages' requests (with their ids) and the background's own. */
const forward = hostForwarder({ correlator, send });

/** A request of the background's own: resolves with the host's reply object, ok or not; never rejects. */
function request(verb, fields = {}, timeoutMs) {
  return forward({ id: correlator.freshId(), verb, fields, timeoutMs });
}

async function profileId() {
  const stored = await chrome.storage.local.get("profileId");
  if (stored.profileId) return stored.profileId;
  const fresh = crypto.randomUUID().replaceAll("-", "");
  await chrome.storage.local.set({ profileId: fresh });
  return fresh;
}

// --- the browser step of OAuth -------------------------------------------------------------------------

async function signIn({ server, auth_id, url }) {
  try {
    // launchWebAuthFlow only ever ends on this extension's own redirect address, and an authorization server
    // compares redirect URIs byte for byte: a sign-in asking to come back anywhere else could never finish. A
    // registration names the server's own address; the bridge's client ID metadata document lists one for all.
    const expected = chrome.identity.getRedirectURL(`oauth/${server}`);
    const shared = chrome.identity.getRedirectURL("oauth/callback");
    const asked = new URL(url).searchParams.get("redirect_uri");
    if (asked !== expected && asked !== shared) {
      await request(...requests.authResult(auth_id, { error: `the sign-in asked to return to ${asked}, but this extension receives sign-ins at ${expected}` }));
      return;
    }
    const redirectUrl = await chrome.identity.launchWebAuthFlow({ url, interactive: true });
    await request(...requests.authResult(auth_id, { redirectUrl }));
  } catch (error) {
    const words = chrome.runtime.lastError?.message ?? error?.message ?? "the sign-in window was closed";
    await request(...requests.authResult(auth_id, { error: words }));
  }
}

// --- servers' questions ----------------------------------------------------------------------------------

/** Bring the popup up so the person sees the question; a server's question is never answered without them. */
async function askThePerson() {
  try {
    await chrome.action.openPopup();
  } catch {
    // No browser window focused, or openPopup unavailable: a small window of the popup does the same job.
    await chrome.windows.create({ url: chrome.runtime.getURL("popups/popup.html"), type: "popup", width: 420, height: 560 });
  }
}

// --- state for the pages, and the badge ----------------------------------------------------------------

function snapshot() {
  return { type: "state", ...bridge };
}

function update(changes) {
  Object.assign(bridge, changes);
  chrome.storage.session.set({ bridge }).catch(() => {});
  paintBadge();
  broadcast(snapshot());
}

function broadcast(message) {
  for (const ui of uiPorts) {
    try {
      ui.postMessage(message);
    } catch {
      uiPorts.delete(ui);
    }
  }
}

function paintBadge() {
  const servers = bridge.status?.servers ?? [];
  const alarming =
    bridge.host === "missing" || bridge.questions.length > 0 || servers.some((s) => s.state === "needs_auth");
  const connected = servers.filter((s) => s.state === "connected").length;
  chrome.action.setBadgeText({ text: alarming ? "!" : connected ? String(connected) : "" });
  chrome.action.setBadgeBackgroundColor({ color: alarming ? "#d93025" : "#2383e2" });
}

/** Whether a message comes from one of the extension's own pages (never from a web page or content script). */
function fromExtensionPage(sender) {
  return sender?.id === chrome.runtime.id && typeof sender.url === "string" && sender.url.startsWith(chrome.runtime.getURL(""));
}

// Everything a page may ask, in one table (page-handlers.js): host verbs go through `request` with the page's own
// id; the rest is the background's own business.
const handlers = pageHandlers({
  forward,
  readPage,
  openChat: (tabId) => openChat(chrome.sidePanel, tabId),
  closeChat: (tabId) => closeChat(chrome.sidePanel, tabId),
  reconnect: () => {
    failuresWithoutHello = 0;
    backoff.reset();
    connect();
  },
});

chrome.runtime.onConnect.addListener((ui) => {
  if (ui.name !== "ui" || !fromExtensionPage(ui.sender)) return;
  uiPorts.add(ui);
  ui.postMessage(snapshot());
  ui.onDisconnect.addListener(() => uiPorts.delete(ui));
  servePort(handlers, ui);
});

// --- the chat, in the side panel ------------------------------------------------------------------------

// The chat is Chrome's side panel, per tab: browser UI, which no page can restyle, cover, read or frame (an iframe
// in the page's DOM could be made transparent over a decoy and its "Always allow" clicked). The popup's
// "Open chat", Alt+Shift+K and the context menu call openChat straight from the person's gesture, which also
// grants activeTab for that tab, so the panel can read it for "Use this page".

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // Only what must carry the person's gesture comes this way (chat.open); everything else comes on a port.
  if (!BY_SEND_MESSAGE.has(message?.type) || !fromExtensionPage(sender)) return false;
  dispatch(handlers, message, sender).then(sendResponse);
  return true; // answers asynchronously
});

/** What "Use this page" attaches: URL, title, and the selection or the page's readable text, of the panel's tab. */
async function readPage(tabId) {
  if (!Number.isInteger(tabId)) {
    return { ok: false, error: { code: "no_page", message: "This chat is not bound to a tab: open it from the page with Alt+Shift+K." } };
  }
  try {
    const [{ result }] = await chrome.scripting.executeScript({
      target: { tabId },
      func: () => ({
        url: location.href,
        title: document.title,
        selection: String(getSelection() ?? ""),
        text: (document.querySelector("article, main") ?? document.body).innerText.slice(0, 20_000),
      }),
    });
    return { ok: true, result };
  } catch (error) {
    return { ok: false, error: { code: "no_page", message: unreadablePage(error.message) } };
  }
}

chrome.commands.onCommand.addListener((command, tab) => {
  if (command === "open-chat" && tab?.id !== undefined) openChat(chrome.sidePanel, tab.id).then(report);
});
chrome.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === "open-chat" && tab?.id !== undefined) openChat(chrome.sidePanel, tab.id).then(report);
});

function report(outcome) {
  if (!outcome.ok) console.warn("could not open the chat:", outcome.error);
}

// --- staying connected ---------------------------------------------------------------------------------

chrome.runtime.onStartup.addListener(connect);
chrome.runtime.onInstalled.addListener(() => {
  chrome.alarms.create("watchdog", { periodInMinutes: 1 });
  chrome.contextMenus.create({ id: "open-chat", title: "Open Notion MCP Bridge chat", contexts: ["page", "selection"] });
  connect();
});
// First run: a page that checks for the host, says how to install it, and walks through connecting Notion.
chrome.runtime.onInstalled.addListener(({ reason }) => {
  if (reason === "install") chrome.tabs.create({ url: chrome.runtime.getURL("welcome/welcome.html") });
});
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name !== "watchdog") return;
  if (!port) {
    failuresWithoutHello = Math.min(failuresWithoutHello, GIVE_UP_AFTER - 1);
    connect();
  } else {
    request(...requests.ping(), 10_000);
  }
});

connect();
