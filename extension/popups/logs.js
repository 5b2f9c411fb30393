// A server's log messages (MCP notifications/message): the host's ring of the latest ones, then each new one as
// it comes, and the level asked of the server. Opened from the popup's card: logs.html?server=<id>

import { BridgeClient } from "../shared/bridge-client.js";
import { serverLogLevel, serverLogs } from "../shared/host-requests.js";

export const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

const client = new BridgeClient();
const serverSelect = document.getElementById("server");
const levelSelect = document.getElementById("level");
const body = document.querySelector("#entries tbody");
const wanted = new URLSearchParams(location.search).get("server");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function problem(message) {
  const node = document.getElementById("problem");
  node.hidden = !message;
  node.textContent = message ?? "";
}

levelSelect.replaceChildren(...LEVELS.map((level) => Object.assign(el("option", "", level), { value: level })));

function row(entry) {
  const tr = el("tr");
  tr.dataset.level = entry.level;
  const data = typeof entry.data === "string" ? entry.data : JSON.stringify(entry.data, null, 2);
  tr.append(
    el("td", "time", new Date(entry.time * 1000).toLocaleTimeString()),
    el("td", "level", entry.level),
    el("td", "logger", entry.logger ?? ""),
    el("td", "data", data),
  );
  return tr;
}

function add(entry) {
  body.append(row(entry));
  while (body.children.length > 1000) body.firstElementChild.remove();
  if (document.getElementById("follow").checked) scrollTo(0, document.body.scrollHeight);
}

async function load() {
  const server = serverSelect.value;
  if (!server) return;
  document.getElementById("title").textContent = `Logs of ${serverSelect.selectedOptions[0]?.textContent ?? server}`;
  const reply = await client.request(...serverLogs(server));
  if (server !== serverSelect.value) return;
  if (!reply.ok) return problem(reply.error.message);
  problem(null);
  levelSelect.value = reply.result.level;
  document.getElementById("notice").textContent = reply.result.offered
    ? `Messages at ${reply.result.level} and above; the host keeps the latest ones.`
    : "This server does not offer logging.";
  body.replaceChildren(...reply.result.entries.map(row));
}

client.onState((state) => {
  const servers = state.host === "connected" ? (state.status?.servers ?? []).filter((s) => s.state === "connected") : [];
  const ids = servers.map((s) => s.id).join(",");
  if (serverSelect.dataset.ids === ids) return;
  const chosen = serverSelect.value || wanted;
  serverSelect.dataset.ids = ids;
  serverSelect.replaceChildren(...servers.map((s) => Object.assign(el("option", "", s.name), { value: s.id })));
  if (servers.some((s) => s.id === chosen)) serverSelect.value = chosen;
  load();
});

client.onEvent("server.log", (event) => {
  if (event.server === serverSelect.value) add(event);
});

serverSelect.addEventListener("change", load);
levelSelect.addEventListener("change", async () => {
  const reply = await client.request(...serverLogLevel(serverSelect.value, levelSelect.value));
  if (!reply.ok) return problem(reply.error.message);
  problem(null);
  document.getElementById("notice").textContent = `Messages at ${reply.result.level} and above from now on.`;
});
document.getElementById("clear").addEventListener("click", () => body.replaceChildren());
