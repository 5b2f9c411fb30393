// What every extension page uses to talk to the background, and the only thing that does: one port, requests
// with ids the page chooses, state and events pushed to listeners, timeouts, and a new port when the old one drops
// (the service worker was stopped or restarted).
//
// Every request resolves, never rejects and never hangs: with the host's reply ({ok: true, result} or
// {ok: false, error: {code, message}}), or with {ok: false, error} whose code is
//   timeout           no answer within the request's time (30 s unless the call says otherwise)
//   disconnected      the port to the background dropped while the request was out: its outcome is unknown
//   host_unavailable  there was no port to send it on (the client is reconnecting), or the background has no host
// Pure apart from chrome.runtime, which comes in with the timers, so node tests drive it with fakes.

import { toolCancel } from "./host-requests.js";

export const DEFAULT_TIMEOUT_MS = 30_000;
// Reconnection: the first try at once (the service worker starts on connect), then doubling up to the cap.
export const RECONNECT_FIRST_MS = 100;
export const RECONNECT_CAP_MS = 10_000;

function failure(code, message) {
  return { ok: false, error: { code, message } };
}

/** A random tag that keeps this page's ids apart from every other page's: `p<tag>-<n>`. */
function randomTag(random) {
  return Array.from({ length: 8 }, () => Math.floor(random() * 36).toString(36)).join("");
}

export class BridgeClient {
  constructor({
    runtime = globalThis.chrome?.runtime,
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (timer) => clearTimeout(timer),
    random = Math.random,
    defaultTimeoutMs = DEFAULT_TIMEOUT_MS,
  } = {}) {
    this.runtime = runtime;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.prefix = `p${randomTag(random)}-`;
    this.counter = 0;
    this.pending = new Map(); // id -> {resolve, timer}
    this.stateListeners = new Set();
    this.eventListeners = new Set(); // {matches, fn}
    this.state = null; // the background's last state
    this.port = null;
    this.connected = false;
    this.closed = false;
    this.retryTimer = null;
    this.retryDelay = RECONNECT_FIRST_MS;
    this.connect();
  }

  // --- the port ---------------------------------------------------------------------------------------------

  connect() {
    this.retryTimer = null;
    if (this.closed || this.port) return;
    let port;
    try {
      port = this.runtime.connect({ name: "ui" });
    } catch (error) {
      this.lost(`could not reach the extension's background: ${error?.message ?? error}`);
      return;
    }
    this.port = port;
    port.onMessage.addListener((message) => this.onMessage(port, message));
    port.onDisconnect.addListener(() => {
      if (this.port !== port) return;
      this.port = null;
      // Read it in the listener, or Chrome reports it as unchecked.
      const words = this.runtime.lastError?.message;
      this.lost(words ? `the connection to the extension's background dropped: ${words}` : "the connection to the extension's background dropped");
    });
  }

  onMessage(port, message) {
    if (port !== this.port || !message || typeof message !== "object") return;
    if (!this.connected) {
      // The background answered on this port: it is up, and the next drop starts the backoff afresh.
      this.connected = true;
      this.retryDelay = RECONNECT_FIRST_MS;
    }
    if (message.type === "reply") this.settle(message.id, message.reply);
    else if (message.type === "state") this.setState(message);
    else if (message.type === "event") this.emit(message.event);
  }

  /** The port dropped, or could not be made: fail what was out, tell the listeners, and try again later. */
  lost(words) {
    this.connected = false;
    for (const id of [...this.pending.keys()]) {
      this.settle(id, failure("disconnected", `${words}; the request's outcome is unknown`));
    }
    if (this.closed) return;
    // The host went with the background (its port closed), so nothing shown is live until a fresh state comes:
    // the pages keep the last one, marked as not connected, with the reason.
    this.setState({
      ...(this.state ?? {}),
      type: "state",
      host: "connecting",
      hostError: words,
      retryAt: null,
      questions: [],
      background: "disconnected",
    });
    this.retryTimer = this.setTimer(() => this.connect(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RECONNECT_CAP_MS);
  }

  /** Stop: no more reconnections, and whatever is out resolves as disconnected. */
  close() {
    this.closed = true;
    if (this.retryTimer !== null) this.clearTimer(this.retryTimer);
    const port = this.port;
    this.port = null;
    try {
      port?.disconnect();
    } catch {
      // Already gone.
    }
    this.lost("the page closed its connection");
  }

  // --- listeners ----------------------------------------------------------------------------------------------

  /** Called with the background's state on connect and on every change; returns a function that unsubscribes. */
  onState(fn) {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /**
   * Called with each host event the background passes on (`chat.*`): `filter` is an event type ("chat.delta")
   * or a predicate on the event. Returns a function that unsubscribes.
   */
  onEvent(filter, fn) {
    const matches = typeof filter === "function" ? filter : (event) => event?.type === filter;
    const entry = { matches, fn };
    this.eventListeners.add(entry);
    return () => this.eventListeners.delete(entry);
  }

  setState(state) {
    this.state = state;
    for (const fn of [...this.stateListeners]) fn(state);
  }

  emit(event) {
    for (const { matches, fn } of [...this.eventListeners]) if (matches(event)) fn(event);
  }

  // --- requests -----------------------------------------------------------------------------------------------

  nextId() {
    return `${this.prefix}${++this.counter}`;
  }

  /**
   * Send a message that expects an answer; returns {id, reply}: the id it went with (a tool.call's is what
   * tool.cancel names), and a promise of the answer that always resolves.
   */
  send(message, timeoutMs = this.defaultTimeoutMs) {
    const id = this.nextId();
    const reply = new Promise((resolve) => {
      if (!this.port) {
        resolve(failure("host_unavailable", "not connected to the extension's background; reconnecting"));
        return;
      }
      const timer = this.setTimer(() => {
        this.settle(id, failure("timeout", `no answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      try {
        this.port.postMessage({ ...message, id });
      } catch (error) {
        this.settle(id, failure("disconnected", `the connection to the extension's background dropped: ${error?.message ?? error}`));
      }
    });
    return { id, reply };
  }

  settle(id, reply) {
    const entry = this.pending.get(id);
    if (!entry) return false; // timed out already, or not ours
    this.pending.delete(id);
    if (entry.timer !== undefined) this.clearTimer(entry.timer);
    entry.resolve(reply);
    return true;
  }

  /** Start a host request: {id, reply}. `options` is {timeoutMs}, or a number of milliseconds. */
  start(verb, fields = {}, options = {}) {
    const timeoutMs = (typeof options === "number" ? options : options?.timeoutMs) ?? this.defaultTimeoutMs;
    return this.send({ type: "request", verb, fields, timeoutMs }, timeoutMs);
  }

  /** A host request; resolves with its reply. */
  request(verb, fields = {}, options = {}) {
    return this.start(verb, fields, options).reply;
  }

  /** Cancel a tool call this page started, by the id `start` gave it. */
  cancelTool(callId) {
    return this.request(...toolCancel(callId));
  }

  /** Ask the background itself (not the host) something that has an answer, e.g. "page.context". */
  call(type, fields = {}, options = {}) {
    const timeoutMs = (typeof options === "number" ? options : options?.timeoutMs) ?? this.defaultTimeoutMs;
    return this.send({ ...fields, type }, timeoutMs).reply;
  }

  /** Tell the background something that needs no answer, e.g. "panel.close". False when there is no port. */
  post(type, fields = {}) {
    if (!this.port) return false;
    try {
      this.port.postMessage({ ...fields, type });
      return true;
    } catch {
      return false;
    }
  }

  /** Ask the background to try the host again now. */
  reconnect() {
    return this.post("reconnect");
  }
}
