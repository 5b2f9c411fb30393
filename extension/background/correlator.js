// One request/reply correlator for every caller (popup, options, panel): ids, timeouts, late replies ignored.

export class Correlator {
  // Wrapped, not passed bare: calling a bare setTimeout as a method of this object is an "Illegal invocation".
  constructor({ prefix = "x", setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (t) => clearTimeout(t) } = {}) {
    this.prefix = prefix;
    this.counter = 0;
    this.waiting = new Map();
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
  }

  /** Register a request; returns [id, promise of the reply]. The promise rejects after timeoutMs. */
  open(timeoutMs) {
    const id = `${this.prefix}${++this.counter}`;
    const promise = new Promise((resolve, reject) => {
      const timer = this.setTimer(() => {
        this.waiting.delete(id);
        reject(new Error(`no reply from the host within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
    return [id, promise];
  }

  /** Deliver a reply; false when nobody waits for that id (timed out already, or unknown). */
  settle(reply) {
    const entry = this.waiting.get(reply?.id);
    if (!entry) return false;
    this.waiting.delete(reply.id);
    this.clearTimer(entry.timer);
    entry.resolve(reply);
    return true;
  }

  /** Fail every request in flight, e.g. when the port to the host drops. */
  failAll(message) {
    for (const [id, entry] of this.waiting) {
      this.clearTimer(entry.timer);
      entry.reject(new Error(message));
      this.waiting.delete(id);
    }
  }
}
