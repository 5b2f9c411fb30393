// What the extension's pages may ask of the background: one table of handlers, keyed by the message's type.
//
// `request` carries a host verb and goes to the host with the page's own id, unchanged: the reply comes back by that
// id, and a `tool.cancel` can name a `tool.call` by it. Everything else in the table is the background's own
// business (reading the panel's tab, opening and closing the chat, trying the host again) and never reaches the
// host. Pure: the chrome APIs and the host's port come in as functions, so node tests drive it with fakes.

export const DEFAULT_TIMEOUT_MS = 30_000;
// The longest a page may make the background wait (chat.send takes up to 10 minutes, tool.call up to an hour).
export const MAX_TIMEOUT_MS = 2 * 60 * 60_000;
// The background waits this much longer than the page, so the page's own timeout is the one a person sees; the
// background's frees the id when a page has gone away without waiting.
export const GRACE_MS = 2_000;
// As the host's schema has it: an id is 1 to 200 characters.
export const MAX_ID_LENGTH = 200;

/** A reply that did not come from the host, in the host's shape. */
export function failure(code, message) {
  return { ok: false, error: { code, message } };
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Why a request cannot go to the host as it is, or null. */
export function refusal({ id, verb, fields }) {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return failure("missing_id", `a request needs an id: a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (typeof verb !== "string" || verb === "") return failure("missing_type", "a request needs a verb");
  if (!isPlainObject(fields)) return failure("invalid_arguments", `${verb}: the fields must be an object`);
  if (Object.hasOwn(fields, "id") || Object.hasOwn(fields, "type")) {
    return failure("invalid_arguments", `${verb}: the fields may not carry "id" or "type"; the request's own are sent`);
  }
  return null;
}

/** How long the background waits for a request that asked for timeoutMs: the default, capped, plus the grace. */
export function waitFor(timeoutMs, graceMs = GRACE_MS) {
  const asked = Number.isFinite(timeoutMs) && timeoutMs > 0 ? Math.min(timeoutMs, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  return asked + graceMs;
}

/**
 * The one path to the host. `send(frame)` posts to the host's port (and throws when there is none); `correlator`
 * holds every id in flight, the pages' and the background's own, so an id in use is refused (`duplicate_id`)
 * before it reaches the host. Resolves with the host's reply, or a failure in the same shape: `timeout`,
 * `host_unavailable` (no host, or it stopped before answering), `duplicate_id`, `missing_id`, `invalid_arguments`.
 */
export function hostForwarder({ correlator, send, graceMs = GRACE_MS }) {
  return async function forward({ id, verb, fields = {}, timeoutMs }) {
    const refused = refusal({ id, verb, fields });
    if (refused) return refused;
    let reply;
    try {
      [, reply] = correlator.open(waitFor(timeoutMs, graceMs), id);
    } catch (error) {
      return failure(error.code ?? "internal", error.message);
    }
    try {
      send({ ...fields, type: verb, id });
    } catch (error) {
      correlator.settle({ id, ok: false, error: { code: "host_unavailable", message: error.message } });
    }
    try {
      return await reply;
    } catch (error) {
      return failure(error.code ?? "host_unavailable", error.message);
    }
  };
}

/**
 * The table. Each handler takes the page's message and resolves with the answer for it (sent back as
 * `{type: "reply", id, reply}` when the message has an id).
 *
 *   forward(message)   the host path above
 *   readPage(tabId)    {ok, result: {url, title, selection, text}} or {ok: false, error}
 *   openChat(tabId)    {ok, configured, opened, error?}; only useful from runtime.sendMessage, which keeps the gesture
 *   closeChat(tabId)   {ok, error?}
 *   reconnect()        try the host again now
 */
export function pageHandlers({ forward, readPage, openChat, closeChat, reconnect }) {
  return Object.freeze({
    request: (message) => forward(message),
    reconnect: () => {
      reconnect();
      return { ok: true, result: null };
    },
    "page.context": (message) => readPage(message.tabId),
    "chat.open": (message) => openChat(message.tabId),
    "panel.close": (message) => closeChat(message.tabId),
  });
}

/** The message types that may come by runtime.sendMessage (a person's gesture travels with it) rather than a port. */
export const BY_SEND_MESSAGE = new Set(["chat.open"]);

/** Run the handler for a page's message; an unknown type or a handler that throws is answered, not thrown. */
export async function dispatch(handlers, message, sender) {
  const type = message?.type;
  if (typeof type !== "string" || !Object.hasOwn(handlers, type)) {
    return failure("unknown_verb", `the background has no message type ${JSON.stringify(type ?? null)}`);
  }
  try {
    return await handlers[type](message, sender);
  } catch (error) {
    return failure("internal", String(error?.message ?? error));
  }
}

/** Serve one page's port: every message through the table, the answer back by the message's id. */
export function servePort(handlers, port) {
  port.onMessage.addListener(async (message) => {
    const reply = await dispatch(handlers, message, port);
    if (typeof message?.id !== "string" || reply === undefined) return;
    try {
      port.postMessage({ type: "reply", id: message.id, reply });
    } catch {
      // The page has gone; nobody is waiting.
    }
  });
}
