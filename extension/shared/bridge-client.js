// What every extension page uses to talk to the background: state pushes and request/reply.

export class BridgeClient {
  constructor() {
    this.listeners = [];
    this.pending = new Map();
    this.counter = 0;
    this.port = chrome.runtime.connect({ name: "ui" });
    this.port.onMessage.addListener((message) => {
      if (message.type === "state") this.listeners.forEach((listener) => listener(message));
      if (message.type === "reply") {
        this.pending.get(message.rid)?.(message.reply);
        this.pending.delete(message.rid);
      }
    });
  }

  onState(listener) {
    this.listeners.push(listener);
  }

  /** Resolves with the host's reply object ({ok, result} or {ok: false, error}). */
  request(verb, fields = {}, timeoutMs) {
    const rid = `ui${++this.counter}`;
    return new Promise((resolve) => {
      this.pending.set(rid, resolve);
      this.port.postMessage({ type: "request", rid, verb, fields, timeoutMs });
    });
  }

  reconnect() {
    this.port.postMessage({ type: "reconnect" });
  }
}
