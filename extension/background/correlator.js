// One request/reply correlator for every request to the host (the pages' and the background's own): ids in
// flight, timeouts, late replies ignored. Pages choose their ids; the correlator keeps them unique while in flight.

/** An Error with a code the pages understand (the same words as the host's error codes where one fits). */
export function codedError(code, message) {
  return Object.assign(new Error(message), { code });
}

export class Correlator {
  // Wrapped, not passed bare: calling a bare setTimeout as a method of this object is an "Illegal invocation".
  constructor({ prefix = "x", setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (t) => clearTimeout(t) } = {}) {
    this.prefix = prefix;
    this.counter = 0;
    this.waiting = new Map();
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
  }

  /** An id of this correlator's own that nothing in flight uses (a page may have picked "bg3" already). */
  freshId() {
    let id;
    do id = `${this.prefix}${++this.counter}`;
    while (this.waiting.has(id));
    return id;
  }

  /** Whether a request with this id is waiting for its reply. */
  has(id) {
    return this.waiting.has(id);
  }

  /**
   * Register a request; returns [id, promise of the reply]. The id is the caller's, or a fresh one. Throws (code
   * duplicate_id) when that id is already in flight. The promise rejects (code timeout) after timeoutMs.
   */
  open(timeoutMs, id = this.freshId()) {
    if (this.waiting.has(id)) throw codedError("duplicate_id", `a request with id ${JSON.stringify(id)} is still in flight`);
    const promise = new Promise((resolve, reject) => {
      const timer = this.setTimer(() => {
        this.waiting.delete(id);
        reject(codedError("timeout", `no reply from the host within ${Math.round(timeoutMs / 1000)} s`));
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
  failAll(message, code = "host_unavailable") {
    for (const [id, entry] of this.waiting) {
      this.clearTimer(entry.timer);
      entry.reject(codedError(code, message));
      this.waiting.delete(id);
    }
  }
}
