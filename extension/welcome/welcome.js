// The first-run page: finds the host (through the background's state), shows the one command that installs it
// when it is missing, and once it answers, walks through connecting Notion and opening the chat.

import { BridgeClient } from "../shared/bridge-client.js";
import { serverConnect } from "../shared/host-requests.js";
import { platformOf, setupCommands } from "../shared/platform.js";

const RECHECK_MS = 4000;
const client = new BridgeClient();
let latest = null;

function byId(id) {
  return document.getElementById(id);
}

function hostMissing(state) {
  if (state.host === "connected") return false;
  return state.host === "missing" || /not found|forbidden/i.test(state.hostError ?? "");
}

function render(state) {
  latest = state;
  const connected = state.host === "connected";
  const hostState = byId("host-state");
  hostState.classList.toggle("good", connected);
  hostState.classList.toggle("bad", hostMissing(state));
  if (connected) hostState.textContent = `Host connected (version ${state.hello?.host_version ?? "?"})`;
  else if (hostMissing(state)) hostState.textContent = "The host is not installed for this browser yet.";
  else hostState.textContent = "Looking for the host…";
  byId("missing").hidden = !hostMissing(state);
  const forbidden = /forbidden/i.test(state.hostError ?? "");
  byId("forbidden").hidden = !forbidden;
  byId("forbidden").textContent = forbidden
    ? `The host is installed but does not let this extension (ID ${chrome.runtime.id}) start it: add it with notion-bridge install --extension-id ${chrome.runtime.id}`
    : "";
  byId("next").hidden = !connected;
  if (connected) renderNotion(state.status?.servers?.find((server) => server.id === "notion"));
}

function renderNotion(notion) {
  const words = byId("notion-state");
  const button = byId("connect-notion");
  if (!notion) {
    words.textContent = "There is no Notion server in your configuration: add one in the options.";
    button.hidden = true;
    return;
  }
  const described = {
    connected: `Notion is connected: ${notion.tools} tools ready.`,
    connecting: "Connecting to Notion…",
    needs_auth: "Notion needs you to sign in.",
    error: `Notion could not be reached: ${notion.error ?? "unknown error"}`,
    disabled: "Notion is not connected yet.",
  };
  words.textContent = described[notion.state] ?? `Notion: ${notion.state}`;
  button.hidden = notion.state === "connected";
}

async function connectNotion() {
  const button = byId("connect-notion");
  const problem = byId("notion-problem");
  problem.hidden = true;
  button.disabled = true;
  try {
    // The host opens Notion's sign-in window through the background, and the reply waits for the person.
    const reply = await client.request(...serverConnect("notion"), 6 * 60_000);
    if (!reply.ok) {
      problem.hidden = false;
      problem.textContent = reply.error.message;
    }
  } finally {
    button.disabled = false;
  }
}

async function copy(id) {
  const text = byId(id).textContent;
  let said = `Copied: ${text}`;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard (an unfocused page): select the text so Ctrl+C takes it.
    getSelection().selectAllChildren(byId(id));
    said = "Selected: press Ctrl+C (⌘C on a Mac) to copy";
  }
  byId("copied").textContent = said;
}

async function showShortcut() {
  try {
    const commands = await chrome.commands.getAll();
    const shortcut = commands.find((command) => command.name === "open-chat")?.shortcut;
    byId("shortcut").textContent = shortcut || "a shortcut of your choice (chrome://extensions/shortcuts)";
  } catch {
    // Keep the default the manifest suggests.
  }
}

function setUp() {
  const platform = setupCommands(platformOf(navigator), chrome.runtime.getManifest().version);
  byId("terminal").textContent = platform.terminal;
  byId("install-command").textContent = platform.install;
  byId("package-command").textContent = platform.package;
  byId("platform-note").textContent = platform.note;
  byId("copy-install").addEventListener("click", () => copy("install-command"));
  byId("copy-package").addEventListener("click", () => copy("package-command"));
  byId("check").addEventListener("click", () => client.reconnect());
  byId("connect-notion").addEventListener("click", connectNotion);
  showShortcut();
  client.onState(render);
  chrome.storage.session.get("bridge").then(({ bridge }) => bridge && !latest && render(bridge));
  // Until the host answers, look again now and then: the person is likely installing it in a terminal.
  setInterval(() => {
    if (latest?.host !== "connected") client.reconnect();
  }, RECHECK_MS);
}

setUp();
