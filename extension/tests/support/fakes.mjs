// Stand-ins for timers and chrome.runtime ports, for driving the extension's modules under node.

/** Timers that fire only when the test moves the clock. */
export class FakeClock {
  constructor() {
    this.now = 0;
    this.timers = new Map(); // handle -> {at, fn}
    this.next = 1;
  }

  setTimer = (fn, ms) => {
    const handle = this.next++;
    this.timers.set(handle, { at: this.now + ms, fn });
    return handle;
  };

  clearTimer = (handle) => {
    this.timers.delete(handle);
  };

  /** Move the clock on by ms, firing every timer that falls due, in order. */
  advance(ms) {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }

  /** The delays of the timers waiting, soonest first. */
  get waiting() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
}

/** An event in the chrome.events style: addListener, and a way to fire it. */
export class FakeEvent {
  constructor() {
    this.listeners = [];
  }

  addListener(fn) {
    this.listeners.push(fn);
  }

  fire(...args) {
    return this.listeners.map((fn) => fn(...args));
  }
}

/** One end of a runtime port. `posted` is what was posted on it; `peer` is the other end, if any. */
export class FakePort {
  constructor(name = "ui") {
    this.name = name;
    this.posted = [];
    this.onMessage = new FakeEvent();
    this.onDisconnect = new FakeEvent();
    this.open = true;
    this.peer = null;
  }

  postMessage(message) {
    if (!this.open) throw new Error("Attempting to use a disconnected port object");
    // Messages cross as JSON, as Chrome's do.
    const copy = JSON.parse(JSON.stringify(message));
    this.posted.push(copy);
    this.peer?.deliver(copy);
  }

  /** A message arrives on this end. */
  deliver(message) {
    if (this.open) this.onMessage.fire(message);
  }

  disconnect() {
    this.open = false;
  }

  /** The other side went away (the service worker stopped): this end hears onDisconnect. */
  drop() {
    this.open = false;
    this.onDisconnect.fire(this);
  }
}

/** chrome.runtime with connect(): each call makes a new port; `refuse` makes the next connects throw. */
export class FakeRuntime {
  constructor() {
    this.ports = [];
    this.lastError = undefined;
    this.refuse = null;
    this.onConnect = null; // (pagePort) => void: a background to wire the new port to
  }

  connect({ name }) {
    if (this.refuse) throw new Error(this.refuse);
    const port = new FakePort(name);
    this.ports.push(port);
    this.onConnect?.(port);
    return port;
  }

  get port() {
    return this.ports.at(-1);
  }

  /** The current port drops, with Chrome's words in lastError while its listeners run. */
  drop(words) {
    this.lastError = words ? { message: words } : undefined;
    this.port.drop();
    this.lastError = undefined;
  }
}

/** Let every pending promise callback run. */
export function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}
