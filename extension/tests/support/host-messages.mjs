// What the host sends, as the extension reads it: one sample of each message type, and the results of the verbs
// whose results a page reads. Each sample carries every field the extension's code reads from it, so checking the
// samples against docs/protocol.schema.json (with no undeclared fields allowed) fails when the host renames or
// drops one of them, and when the extension starts reading one the host does not declare.

const serverStatus = {
  id: "sqlite",
  name: "SQLite (sample)",
  kind: "stdio",
  enabled: true,
  transport: "stdio",
  state: "connected",
  error: null,
  retry_at: null,
  tools: 3,
  server_info: { name: "sqlite", version: "1.0" },
  capabilities: ["resources", "subscribe", "prompts", "completions", "logging"],
};

const remoteWaiting = {
  id: "notion",
  name: "Notion · Acme",
  kind: "remote",
  enabled: true,
  transport: null,
  state: "error",
  error: "connection refused",
  retry_at: 1767225600.5,
  tools: 0,
  server_info: null,
  capabilities: [],
};

const statusMessage = { type: "status", servers: [serverStatus, remoteWaiting], notices: ["No system keychain: tokens are kept in an encrypted file."] };

const toolResult = {
  content: [{ type: "text", text: "2 rows" }],
  structuredContent: { rows: [{ id: 1, name: "Platform" }, { id: 2, name: "Growth" }] },
  isError: false,
};

/** [type, sample]: one or more per message type the host sends. */
export const MESSAGES = [
  ["hello", { type: "hello", protocol: 1, host_version: "0.1.0" }],
  ["reply", { type: "reply", id: "pk3v9x0aa-4", ok: true, result: toolResult }],
  ["reply", { type: "reply", id: "bg2", ok: false, error: { code: "duplicate_id", message: "a request with id 'bg2' is still in flight" } }],
  ["error", { type: "error", error: { code: "forbidden_origin", message: "this host does not serve chrome-extension://x/" } }],
  ["chunk", { type: "chunk", stream: "s0", seq: 0, last: false, data: '{"type":"sta' }],
  ["status", statusMessage],
  ["auth.open", { type: "auth.open", server: "notion", auth_id: "a1", url: "https://mcp.notion.com/authorize?state=x" }],
  ["elicitation.request", {
    type: "elicitation.request",
    elicitation_id: "e1",
    server: "toy",
    message: "What is your name?",
    requested_schema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
  }],
  ["elicitation.request", { type: "elicitation.request", elicitation_id: "e2", server: "toy", message: "Sign the form", url: "https://example.com/form" }],
  ["elicitation.closed", { type: "elicitation.closed", elicitation_id: "e1" }],
  ["tool.progress", { type: "tool.progress", call_id: "pk3v9x0aa-4", progress: 3, total: 10, message: "step 3 of 10" }],
  ["tool.progress", { type: "tool.progress", call_id: "call_1", progress: 0.5, conversation_id: "c1" }],
  ["server.log", { type: "server.log", server: "toy", level: "warning", logger: "db", data: "slow query", time: 1767225600.2 }],
  ["server.log", { type: "server.log", server: "toy", level: "info", data: { rows: 3 }, time: 1767225600.3 }],
  ["resource.updated", { type: "resource.updated", server: "toy", uri: "file:///notes/today.md" }],
  ["server.list_changed", { type: "server.list_changed", server: "toy", list: "prompts" }],
  ["sampling.request", {
    type: "sampling.request",
    sampling_id: "s1",
    server: "toy",
    server_name: "Toy",
    messages: [{ role: "user", content: { type: "text", text: "Capital of France?" } }],
    max_tokens: 100,
    model: "openai/gpt-4o-mini",
    system_prompt: "Answer briefly.",
    model_preferences: { hints: [{ name: "small" }], speedPriority: 0.8 },
    temperature: 0.2,
    stop_sequences: ["\n\n"],
    include_context: "none",
  }],
  ["sampling.draft", { type: "sampling.draft", sampling_id: "s1", text: "Paris.", model: "openai/gpt-4o-mini", stop_reason: "endTurn" }],
  ["sampling.closed", { type: "sampling.closed", sampling_id: "s1", outcome: "sent" }],
  ["sampling.closed", { type: "sampling.closed", sampling_id: "s2", outcome: "failed", error: "the model endpoint is rate-limiting" }],
  ["chat.delta", { type: "chat.delta", conversation_id: "c1", text: "Saving " }],
  ["chat.tool", {
    type: "chat.tool",
    conversation_id: "c1",
    call_id: "call_1",
    status: "awaiting_approval",
    tool: "notion-create-pages",
    server: "notion",
    server_name: "Notion",
    arguments: { parent: { database_id: "d1" } },
  }],
  ["chat.tool", {
    type: "chat.tool",
    conversation_id: "c1",
    call_id: "call_1",
    status: "done",
    tool: "notion-create-pages",
    server: "notion",
    server_name: "Notion",
    arguments: { parent: { database_id: "d1" } },
    result: toolResult,
    duration_ms: 42,
  }],
  ["chat.tool", { type: "chat.tool", conversation_id: "c1", call_id: "call_2", status: "error", tool: "notion-search", error: "rate limited", duration_ms: 3 }],
  ["chat.tool", { type: "chat.tool", conversation_id: "c1", call_id: "call_3", status: "denied", tool: "notion-update-page" }],
  ["chat.done", { type: "chat.done", conversation_id: "c1", text: "Saved it.", stopped: false }],
  ["chat.error", { type: "chat.error", conversation_id: "c1", message: "the model did not answer" }],
];

/** [verb, result]: the results pages read (the rest they only check for ok). */
export const RESULTS = [
  ["hello", { protocol: 1, host_version: "0.1.0", token_storage: "keychain" }],
  ["ping", { pong: true, time: 1767225600.1, protocol: 1, host_version: "0.1.0" }],
  ["status.get", statusMessage],
  ["server.connect", serverStatus],
  ["server.enable", { ...serverStatus, enabled: false, state: "disabled" }],
  ["server.add", { ...serverStatus, id: "toy", name: "Toy" }],
  ["server.update", { ...serverStatus, name: "Toy renamed", reidentified: true }],
  ["server.disconnect", { ...remoteWaiting, enabled: false, state: "disabled", revoked: true }],
  ["server.remove", { removed: "toy", revoked: false }],
  ["llm.configure", { base_url: "https://openrouter.ai/api/v1", model: "openai/gpt-4o-mini", has_api_key: true, key_forgotten: false, notice: "The key for the old endpoint was forgotten." }],
  ["tools.list", { server: "sqlite", tools: [{ name: "read_query", title: "Read query", description: "SELECT", inputSchema: { type: "object" } }], disabled: ["write_query"] }],
  ["tool.call", toolResult],
  ["tool.cancel", { cancelled: true }],
  ["elicitation.respond", { delivered: true }],
  ["auth.result", { accepted: true }],
  ["chat.new", { conversation_id: "c1" }],
  ["chat.send", { conversation_id: "c1", text: "Saved it.", stopped: false }],
  ["chat.cancel", { cancelled: true }],
  ["chat.approve", { delivered: true }],
  ["chat.list", { conversations: [{ id: "c1", title: "Save this article", created_at: 1767225600, updated_at: 1767225601 }] }],
  ["chat.history", { conversation_id: "c1", messages: [{ role: "user", content: "…", display: "Save this article" }, { role: "assistant", content: "Saved it." }] }],
  ["chat.delete", { deleted: true }],
];
