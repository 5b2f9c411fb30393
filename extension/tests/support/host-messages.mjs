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
  workspace: null,
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
  workspace: { id: "2f1c5b0e-7a3d-4e1f-9c2b-1a2b3c4d5e6f", name: "Acme", icon: "🏢" },
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
  ["chat.tool", {
    type: "chat.tool",
    conversation_id: "c1",
    call_id: "call_4",
    status: "done",
    tool: "picture",
    server: "toy",
    server_name: "Toy",
    arguments: {},
    result: { content: [{ type: "image", mimeType: "image/png", data: "iVBORw0KGgo=" }, { type: "audio", mimeType: "audio/wav", data: "UklGRg==" }], isError: false },
    duration_ms: 5,
  }],
  ["chat.context", { type: "chat.context", conversation_id: "c1", context_length: 4096, prompt_tokens: 2900, left_out_turns: 21, summarized: false, shortened: 2 }],
  ["chat.usage", {
    type: "chat.usage",
    conversation_id: "c1",
    model: "z-ai/glm-4.5-air:free",
    turn: { prompt_tokens: 2900, completion_tokens: 42, cost: 0.0062 },
    conversation: { prompt_tokens: 61000, completion_tokens: 900, cost: null },
    estimated: false,
  }],
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
  ["llm.configure", { base_url: "https://openrouter.ai/api/v1", model: "z-ai/glm-4.5-air:free", system_prompt: null, context_length: 131072, summarize: false, has_api_key: true, key_forgotten: false, notice: "The key for the old endpoint was forgotten." }],
  ["llm.models", {
    base_url: "https://openrouter.ai/api/v1",
    models: [
      { id: "z-ai/glm-4.5-air:free", name: "Z.AI: GLM 4.5 Air (free)", context_length: 131072, prompt_price: 0, completion_price: 0, request_price: null, tools: true, images: false, max_completion: 96000 },
      { id: "llama3", name: "llama3", context_length: null, prompt_price: null, completion_price: null, request_price: null, tools: null, images: null, max_completion: null },
    ],
    default_model: "z-ai/glm-4.5-air:free",
  }],
  ["llm.models", { base_url: "http://127.0.0.1:11434/v1", models: [], default_model: null, error: "the endpoint answered HTTP 404 for its model list" }],
  ["tools.list", { server: "sqlite", tools: [{ name: "read_query", title: "Read query", description: "SELECT", inputSchema: { type: "object" } }] }],
  ["tool.call", toolResult],
  ["tool.cancel", { cancelled: true }],
  ["elicitation.respond", { delivered: true }],
  ["auth.result", { accepted: true }],
  ["chat.new", { conversation_id: "c1" }],
  ["chat.send", { conversation_id: "c1", text: "Saved it.", stopped: false }],
  ["chat.cancel", { cancelled: true }],
  ["chat.approve", { delivered: true }],
  ["chat.list", { conversations: [{ id: "c1", title: "Save this article", created_at: 1767225600, updated_at: 1767225601 }] }],
  ["chat.history", {
    conversation_id: "c1",
    title: "Save this article",
    messages: [{ role: "user", content: "…", display: "Save this article" }, { role: "user", synthetic: true, content: [] }, { role: "assistant", content: "Saved it." }],
    usage: { prompt_tokens: 1200, completion_tokens: 30, cost: 0.0012 },
    context: { context_length: 4096, prompt_tokens: 1200, left_out_turns: 0, summarized: false, shortened: 0 },
  }],
  ["chat.history", { conversation_id: "c2", title: "New chat", messages: [], usage: { prompt_tokens: 0, completion_tokens: 0, cost: null }, context: null }],
  ["chat.rename", { conversation_id: "c1", title: "Geography" }],
  ["chat.search", { conversations: [{ id: "c1", title: "Geography", created_at: 1767225600, updated_at: 1767225601, snippet: "What is the capital of France?" }] }],
  ["chat.export", { conversation_id: "c1", title: "Geography", markdown: "# Geography\n\n**You:** hi" }],
  ["chat.regenerate", { conversation_id: "c1", text: "Lyon." }],
  ["chat.edit", { conversation_id: "c1", text: "Madrid.", stopped: false }],
  ["chat.delete", { deleted: true }],
];
