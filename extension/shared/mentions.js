// The chat's `@` (attach a server's resource to the message) and `/` (a server's prompt as a slash command):
// finding what the person is typing, and naming the commands. Pure: the panel draws, these decide.

/** The panel's own slash commands, which a prompt of the same name does not take over. */
export const BUILT_IN_COMMANDS = ["search", "sql", "tool"];

/** The `@word` being typed just before `caret`: {start, query}, or null when the caret is not in one. */
export function mentionQuery(text, caret = text.length) {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([^\s@]*)$/.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, query: match[2] };
}

/** `text` with the `@query` at `start` taken out (it became an attachment). */
export function withoutMention(text, { start, query }) {
  return (text.slice(0, start) + text.slice(start + 1 + query.length)).replace(/\s{2,}/g, " ").replace(/^\s+/, "");
}

/** The resources whose name, title or URI holds `query` (any case), at most `limit`. */
export function matchResources(resources, query, limit = 20) {
  const wanted = query.toLowerCase();
  return resources
    .filter((r) => [r.name, r.title, r.uri, r.serverName].some((v) => String(v ?? "").toLowerCase().includes(wanted)))
    .slice(0, limit);
}

/**
 * Each connected server's prompts as commands: `/name`, or `/server.name` when two servers (or a built-in
 * command) share the name. `prompts` is [{server, serverName, prompt}]. Returns Map command → that entry.
 */
export function promptCommands(prompts) {
  const counts = new Map();
  for (const { prompt } of prompts) counts.set(prompt.name, (counts.get(prompt.name) ?? 0) + 1);
  const commands = new Map();
  for (const entry of prompts) {
    const plain = entry.prompt.name;
    const shared = counts.get(plain) > 1 || BUILT_IN_COMMANDS.includes(plain) || /\s/.test(plain);
    commands.set(`/${shared ? `${entry.server}.${plain}` : plain}`.replace(/\s+/g, "_"), entry);
  }
  return commands;
}

/**
 * The prompt a message asks for: `/command` alone, or followed by text, which fills the prompt's first
 * argument. Returns {command, entry, rest} or null.
 */
export function matchPromptCommand(text, commands) {
  const match = /^(\/\S+)(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match || !commands.has(match[1])) return null;
  return { command: match[1], entry: commands.get(match[1]), rest: (match[2] ?? "").trim() };
}

/** The text of a prompt's messages for the chat: the person's own words, in order. */
export function promptText(messages) {
  return (messages ?? [])
    .filter((m) => m.role === "user")
    .flatMap((m) => (Array.isArray(m.content) ? m.content : [m.content]))
    .filter((c) => c?.type === "text")
    .map((c) => c.text)
    .join("\n\n");
}

/** Resources a prompt's messages embed, as the chat's context attachments. */
export function promptResources(messages) {
  return (messages ?? [])
    .flatMap((m) => (Array.isArray(m.content) ? m.content : [m.content]))
    .filter((c) => c?.type === "resource" && c.resource)
    .map((c) => c.resource);
}
