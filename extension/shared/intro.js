// What the chat panel shows before its first message (pure): the servers and Notion workspaces it can use, with
// their icons and tool counts and what would fix those that are not connected; three example requests that work
// with them (slash commands when there is no model); and the slash commands. panel.js draws it.

import { serverFix } from "./fixes.js";

/** The icon a server shows: a Notion workspace's emoji, else the initial of its name. */
export function iconOf(server) {
  const icon = server.workspace?.icon ?? "";
  if (icon && !/^https?:\/\//.test(icon)) return { emoji: icon };
  const name = String(server.workspace?.name ?? server.name ?? server.id ?? "?").trim();
  return { initial: (name[0] ?? "?").toUpperCase() };
}

/** The panel's own slash commands, for the servers connected (`notion`: a Notion workspace is among them). */
export function slashCommands({ sqlite, notion, prompts = [] }) {
  const list = [];
  if (notion) list.push({ usage: "/search <words>", words: "search the Notion workspace" });
  if (sqlite) list.push({ usage: "/sql <SELECT …>", words: "query the SQLite database" });
  list.push({ usage: "/tool <server>.<tool> {json}", words: "call any tool with these arguments" });
  for (const command of prompts) list.push({ usage: `${command} …`, words: "a server's prompt" });
  return list;
}

/**
 * The intro for `servers` (status entries) when `model` says whether a chat model is set up. `notion` lists the
 * ids of connected Notion workspaces; `tools` maps a server's id to its tool names, when known; `prompts` the
 * servers' prompt commands. Returns {servers, examples (three at most), commands, noModel, nothingConnected}.
 */
export function introModel(servers, { model, notion = [], tools = {}, prompts = [] } = {}) {
  const enabled = (servers ?? []).filter((s) => s.enabled !== false);
  const connected = enabled.filter((s) => s.state === "connected");
  const shown = enabled.map((s) => ({
    id: s.id,
    name: s.workspace?.name ?? s.name ?? s.id,
    icon: iconOf(s),
    state: s.state,
    tools: s.state === "connected" ? Number(s.tools ?? 0) : null,
    notion: notion.includes(s.id),
    fix: serverFix(s),
  }));
  const sqlite = connected.find((s) => s.id === "sqlite");
  const workspace = connected.find((s) => notion.includes(s.id));
  const others = connected.filter((s) => s !== sqlite && !notion.includes(s.id));
  const examples = [];
  if (model) {
    if (workspace) examples.push(`Find my most recent meeting notes in ${workspace.workspace?.name ?? workspace.name} and list the action items`);
    if (sqlite) examples.push("Which tables are in the SQLite database, and how many rows does each have?");
    for (const server of others) examples.push(`What can ${server.name} do for me? List its tools.`);
    if (workspace) examples.push("Summarise this page and save the summary to Notion");
    if (sqlite) examples.push("Show the first five rows of the largest table in the SQLite database");
  } else {
    if (sqlite) examples.push("/sql SELECT name, type FROM sqlite_master ORDER BY name");
    if (workspace) examples.push("/search meeting notes");
    for (const server of others) {
      const tool = (tools[server.id] ?? [])[0];
      if (tool) examples.push(`/tool ${server.id}.${tool} {}`);
    }
    if (sqlite) examples.push("/sql SELECT COUNT(*) AS tables FROM sqlite_master WHERE type = 'table'");
  }
  return {
    servers: shown,
    examples: examples.slice(0, 3),
    commands: slashCommands({ sqlite: Boolean(sqlite), notion: Boolean(workspace), prompts }),
    noModel: !model,
    nothingConnected: connected.length === 0,
  };
}
