// What fixes an error a person meets, as the action a page offers beside its words (pure). Each page draws the
// actions with notice.js and carries them out its own way: `connect` signs in to a server (server.connect, whose
// consent window opens), `options` opens the options page, `retry` tries the same thing again now, `wait` is a
// retry that becomes possible after `seconds`, `install` shows the command that installs the host, `reconnect`
// asks the background to start the host again, `new-chat` starts a conversation with nothing before it.

export const INSTALL_COMMAND = "notion-bridge install";

/** Seconds a message says to wait ("try again in 12 s", "retry after 30 seconds"), or null. */
export function waitSeconds(message) {
  const found = /(?:try again|retry(?:ing)?)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)/i.exec(String(message ?? ""));
  return found ? Math.ceil(Number(found[1])) : null;
}

/**
 * The actions that fix `error` ({code, message}), first the one to offer most; `server` is the server it came
 * from, when one did. Unknown errors get none: their words must say it.
 */
export function fixesFor(error, { server = null } = {}) {
  const code = error?.code ?? "";
  const message = String(error?.message ?? "");
  const seconds = waitSeconds(message);
  switch (code) {
    case "needs_auth":
      return server ? [{ kind: "connect", label: "Connect", server }] : [{ kind: "options", label: "Open options" }];
    case "host_unavailable":
    case "forbidden_origin":
      return [{ kind: "install", label: "Copy the install command", command: INSTALL_COMMAND }, { kind: "reconnect", label: "Retry now" }];
    case "disconnected":
      return [{ kind: "retry", label: "Retry now" }];
    case "no_model":
      return [{ kind: "options", label: "Open options" }];
    case "rate_limited":
      return [seconds ? { kind: "wait", label: "Retry", seconds } : { kind: "retry", label: "Retry now" }];
    case "not_connected":
    case "session_lost":
    case "server_error":
    case "timeout":
      return server ? [{ kind: "reconnect-server", label: "Retry now", server }, { kind: "retry", label: "Run again" }].slice(code === "timeout" ? 1 : 0) : [{ kind: "retry", label: "Retry now" }];
    case "server_disabled":
      return server ? [{ kind: "enable", label: "Enable it", server }] : [];
    case "chat_failed":
      return chatFixes(message, seconds);
    default:
      return [];
  }
}

/** A failed chat turn: the key refused → options; too long → a new conversation; rate limited or slow → retry. */
function chatFixes(message, seconds) {
  if (/API key|HTTP 401|HTTP 403|model endpoint.*URL|cannot reach/i.test(message)) return [{ kind: "options", label: "Open options" }];
  if (/too long|context/i.test(message)) return [{ kind: "new-chat", label: "Start a new conversation" }, { kind: "options", label: "Open options" }];
  if (/rate-limit|HTTP 429/i.test(message)) return [seconds ? { kind: "wait", label: "Retry", seconds } : { kind: "retry", label: "Retry now" }];
  if (/did not answer in time/i.test(message)) return [{ kind: "retry", label: "Retry now" }];
  return [];
}

/** The fix for a server's status entry (a card in the popup, a line in the panel), or null when it is fine. */
export function serverFix(server, now = Date.now()) {
  if (!server || !server.enabled) return null;
  if (server.state === "needs_auth") return { kind: "connect", label: "Connect", server: server.id };
  if (server.state === "error") {
    const seconds = server.retry_at ? Math.max(0, Math.round(server.retry_at - now / 1000)) : null;
    return { kind: "reconnect-server", label: "Retry now", server: server.id, seconds };
  }
  return null;
}

/**
 * A tool's answer that is itself a refusal a person can act on: rate limiting (Notion's `structuredContent.error`
 * with `retry_after_seconds`) gives {words, fixes} with a retry when the wait is over; anything else null (its own
 * text says what went wrong).
 */
export function resultProblem(result, serverName = "The server") {
  const error = result?.isError ? result.structuredContent?.error : null;
  if (!error || typeof error !== "object") return null;
  if (error.code === "rate_limited") {
    const seconds = Math.max(1, Math.ceil(Number(error.retry_after_seconds) || 1));
    return { words: `${serverName} is rate limiting: try again in ${seconds} s.`, fixes: [{ kind: "wait", label: "Retry", seconds }] };
  }
  if (error.code === "unauthorized" || error.code === "needs_auth") {
    return { words: `${serverName} wants you to sign in again.`, fixes: [{ kind: "connect", label: "Connect" }] };
  }
  return null;
}
