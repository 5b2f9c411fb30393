// Every request the extension sends the host, built in one place. Each builder returns [verb, fields], ready for
// `client.request(...builder(args), options)` in a page or the background's own `request(...builder(args))`.
// Pure: node tests run every builder and check what it builds against docs/protocol.schema.json, so a change on
// either side of the protocol fails a test. Pages send no verb that is not built here.

import { splitCommand } from "./command-line.js";
import { createPageArguments } from "./notion-quick.js";

// --- the background's own ---------------------------------------------------------------------------------

/** The first request on a new host: which browser profile this is. */
export const hello = (profileId) => ["hello", { profile_id: profileId }];
/** The watchdog's question. */
export const ping = () => ["ping", {}];
/** The sign-in window's outcome: the address it ended on, or Chrome's words for why it did not. */
export const authResult = (authId, { redirectUrl, error }) =>
  ["auth.result", redirectUrl ? { auth_id: authId, redirect_url: redirectUrl } : { auth_id: authId, error: String(error) }];

// --- status and configuration -----------------------------------------------------------------------------

export const statusGet = () => ["status.get", {}];
export const configGet = () => ["config.get", {}];
export const serverConnect = (server) => ["server.connect", { server }];
export const serverDisconnect = (server) => ["server.disconnect", { server }];
export const serverEnable = (server, enabled) => ["server.enable", { server, enabled: Boolean(enabled) }];
export const serverRemove = (server) => ["server.remove", { server }];
const serverAdd = (server) => ["server.add", { server }];
const serverUpdate = (server, changes) => ["server.update", { server, changes }];

/**
 * The options page's server editor: server.update when it edits a server (`id`), server.add otherwise. The
 * values are the form's, as typed. Throws, in words, when the command line does not split.
 *
 * `clientSecret` is sent only when typed (absent keeps the stored one). `headers` ({name: value}) sets the
 * headers given a value and removes those given "" (the host keeps the values in the keychain); `roots` is one
 * folder per line, for a local server.
 */
export function serverFromEditor({
  id, name, kind, trusted, url = "", transport = "auto", clientId = "", clientSecret = "", command = "", headers = {}, roots = "",
}) {
  const fields = { name: name.trim(), trusted: Boolean(trusted) };
  if (kind === "remote") {
    Object.assign(fields, { url: url.trim(), transport, client_id: clientId.trim() || null });
    if (clientSecret) fields.client_secret = clientSecret;
    const named = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.trim(), v]).filter(([k]) => k));
    if (Object.keys(named).length) fields.headers = named;
  } else {
    fields.command = splitCommand(command);
    fields.roots = roots.split("\n").map((line) => line.trim()).filter(Boolean);
  }
  if (!id) {
    // A new server's headers are only the ones with a value.
    if (fields.headers) fields.headers = Object.fromEntries(Object.entries(fields.headers).filter(([, v]) => v));
    if (fields.headers && !Object.keys(fields.headers).length) delete fields.headers;
    if (fields.client_id === null) delete fields.client_id;
    if (fields.roots && !fields.roots.length) delete fields.roots;
  }
  return id ? serverUpdate(id, fields) : serverAdd({ ...fields, kind });
}

/**
 * "Add another Notion workspace": a new entry for Notion's server, named "Notion" (its id is derived, "notion-2"…),
 * so it gets a uid, tokens and a registration of its own; signing it in names it after its workspace.
 */
export const addNotionWorkspace = (url) => serverAdd({ name: "Notion", kind: "remote", url: String(url).trim() });
/** Switch tools of a server off (hidden from the chat's model and the tool runner) by sending the whole list. */
export const setDisabledTools = (server, tools) => serverUpdate(server, { disabled_tools: [...new Set(tools)] });

/** Another MCP client's configuration (Claude Desktop, Cursor, VS Code): what would be added, or add it. */
export const serversImport = (text, apply = false) => ["servers.import", { text, apply: Boolean(apply) }];

/** The built-in SQLite server's database file and write switch. */
export const sqliteSettings = (server, { dbPath, allowWrites }) =>
  serverUpdate(server, { db_path: dbPath.trim(), allow_writes: Boolean(allowWrites) });

/** Take one tool off a server's "always allow" list, by sending the list without it. */
export const revokeAlwaysAllow = (server, tool) =>
  serverUpdate(server.id, { always_allow: (server.always_allow ?? []).filter((t) => t !== tool) });

/**
 * The chat model: endpoint and model; the key only when one was typed (absent keeps the stored one). The chat
 * settings go only when given: `systemPrompt` null (or the default's own text, `defaultPrompt`) puts the default
 * back; `contextLength` null forgets the model's setting; `summarize` true or false.
 */
export function llmConfigure({ baseUrl, model, apiKey, systemPrompt, defaultPrompt, contextLength, summarize }) {
  const fields = { base_url: baseUrl.trim(), model: model.trim() };
  if (apiKey) fields.api_key = apiKey;
  if (systemPrompt !== undefined) {
    const own = systemPrompt === null ? "" : systemPrompt.trim();
    fields.system_prompt = own && own !== (defaultPrompt ?? "").trim() ? systemPrompt : null;
  }
  if (contextLength !== undefined) {
    const size = contextLength === null || String(contextLength).trim() === "" ? null : Number(String(contextLength).replace(/[\s,_]/g, ""));
    if (size !== null && (!Number.isInteger(size) || size < 512 || size > 10_000_000)) {
      throw new Error("the context length is a number of tokens between 512 and 10,000,000");
    }
    fields.context_length = size;
  }
  if (summarize !== undefined) fields.summarize = Boolean(summarize);
  return ["llm.configure", fields];
}

/** The endpoint's models (the configured endpoint's unless `baseUrl` names another); `fresh` asks it again. */
export const llmModels = ({ baseUrl, fresh } = {}) =>
  ["llm.models", { ...(baseUrl ? { base_url: baseUrl.trim() } : {}), ...(fresh ? { fresh: true } : {}) }];

// --- tools and servers' questions -----------------------------------------------------------------------------

export const toolsList = (server, { includeDisabled = false } = {}) =>
  ["tools.list", includeDisabled ? { server, include_disabled: true } : { server }];
export const toolCall = (server, tool, args = {}) => ["tool.call", { server, tool, arguments: args }];
/** Cancel a tool.call in flight: `callId` is that request's id, the one the page chose for it. */
export const toolCancel = (callId) => ["tool.cancel", { call_id: callId }];
export const elicitationRespond = (elicitationId, action, content) =>
  ["elicitation.respond", { elicitation_id: elicitationId, action, ...(content ? { content } : {}) }];

// --- resources, prompts, completion ----------------------------------------------------------------------------

export const resourcesList = (server) => ["resources.list", { server }];
export const resourcesTemplates = (server) => ["resources.templates", { server }];
export const resourcesRead = (server, uri) => ["resources.read", { server, uri }];
export const resourcesSubscribe = (server, uri) => ["resources.subscribe", { server, uri }];
export const resourcesUnsubscribe = (server, uri) => ["resources.unsubscribe", { server, uri }];
export const promptsList = (server) => ["prompts.list", { server }];
/** A prompt with its arguments: only the ones given a value go (prompt arguments are strings). */
export const promptsGet = (server, name, args = {}) => [
  "prompts.get",
  { server, name, arguments: Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => [k, String(v)])) },
];
/**
 * Suggestions for an argument as it is typed: `ref` is {type: "ref/prompt", name} or {type: "ref/resource", uri}
 * (a template's uriTemplate); `context` the other arguments filled in so far.
 */
export function completionComplete(server, ref, name, value, context = {}) {
  const filled = Object.fromEntries(Object.entries(context).filter(([k, v]) => k !== name && v !== undefined && v !== "").map(([k, v]) => [k, String(v)]));
  const fields = { server, ref, argument: { name, value: String(value ?? "") } };
  if (Object.keys(filled).length) fields.context = filled;
  return ["completion.complete", fields];
}

// --- what servers say: logs, requests for the model ------------------------------------------------------------

export const serverLogs = (server) => ["server.logs", { server }];
export const serverLogLevel = (server, level) => ["server.log_level", { server, level }];
/** The person's answer to a server's request for the model: approve or decline; `text` the edited answer. */
export const samplingRespond = (samplingId, action, text) =>
  ["sampling.respond", { sampling_id: samplingId, action, ...(text !== undefined ? { text } : {}) }];

// --- the chat -------------------------------------------------------------------------------------------------

export const chatNew = () => ["chat.new", {}];
export const chatSend = (text, conversationId, context) =>
  ["chat.send", { text, ...(conversationId ? { conversation_id: conversationId } : {}), ...(context ? { context } : {}) }];
export const chatCancel = (conversationId) => ["chat.cancel", { conversation_id: conversationId }];
export const chatApprove = (conversationId, callId, approve, always = false) =>
  ["chat.approve", { conversation_id: conversationId, call_id: callId, approve: Boolean(approve), always: Boolean(always) }];
export const chatList = () => ["chat.list", {}];
export const chatHistory = (conversationId) => ["chat.history", { conversation_id: conversationId }];
export const chatDelete = (conversationId) => ["chat.delete", { conversation_id: conversationId }];
export const chatRename = (conversationId, title) => ["chat.rename", { conversation_id: conversationId, title: title.trim() }];
export const chatSearch = (query) => ["chat.search", { query: query.trim() }];
export const chatExport = (conversationId) => ["chat.export", { conversation_id: conversationId }];
export const chatRegenerate = (conversationId) => ["chat.regenerate", { conversation_id: conversationId }];
/** Change the last message and answer it anew; the page it first went with goes again unless `context` is given. */
export const chatEdit = (conversationId, text, context) =>
  ["chat.edit", { conversation_id: conversationId, text, ...(context ? { context } : {}) }];

/**
 * A slash command typed in the chat, for when no model is set up: `/search words` (in the Notion workspace
 * `notionServer`), `/sql SELECT …`, `/tool server.tool {json arguments}`. Returns {server, tool, arguments}; throws,
 * in words, what is wrong.
 */
export function slashCommand(command, notionServer = "notion") {
  const [, verb, rest = ""] = /^\/(\w+)\s*([\s\S]*)$/.exec(command) ?? [];
  if (verb === "search") {
    if (!notionServer) throw new Error("no Notion workspace is connected: connect one in the toolbar popup");
    return { server: notionServer, tool: "notion-search", arguments: { query: rest.trim() } };
  }
  if (verb === "sql") return { server: "sqlite", tool: "read_query", arguments: { query: rest.trim() } };
  if (verb === "tool") {
    const match = /^([\w-]+)\.([\w.-]+)\s*([\s\S]*)$/.exec(rest.trim());
    if (!match) throw new Error("use /tool server.tool {json arguments}");
    let args;
    try {
      args = match[3] ? JSON.parse(match[3]) : {};
    } catch (error) {
      throw new Error(`the arguments are not JSON: ${error.message}`);
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) throw new Error("the arguments must be a JSON object");
    return { server: match[1], tool: match[2], arguments: args };
  }
  throw new Error(`unknown command /${verb ?? ""}; try /search, /sql or /tool`);
}

/**
 * "Save chat to Notion": the conversation's Markdown (from chat.export) as a new page in the Notion workspace
 * `server`, under `parent` ({kind: "page" | "data_source", id, schema?}, from the same picker as "Save page"): a
 * child page titled after the conversation, or a row of the data source with the title in its title property (the
 * export's own title heading is left out: the page's title says it). Throws in words when the parent is missing or
 * a data source has no title property.
 */
export function saveConversation({ title, markdown }, { server, parent }) {
  const name = String(title ?? "").trim() || "Conversation";
  const heading = `# ${title}\n`;
  const body = title && markdown.startsWith(heading) ? markdown.slice(heading.length).replace(/^\n+/, "") : markdown;
  return {
    server,
    tool: "notion-create-pages",
    arguments: createPageArguments({ parent, schema: parent?.schema, title: name, markdown: body }),
  };
}

/**
 * "Save page to Notion": the page ({url, title, selection, text}) as a new page in the Notion workspace `server`,
 * under `parent` ({kind: "page" | "data_source", id, schema?}), its source first. Throws in words when the parent
 * is missing or a data source has no title property.
 */
export function savePage(page, { server, parent }) {
  const content = `Source: ${page.url}\n\n${page.selection || page.text}`;
  return {
    server,
    tool: "notion-create-pages",
    arguments: createPageArguments({ parent, schema: parent?.schema, title: page.title || page.url, markdown: content }),
  };
}
