// Capped exponential backoff with jitter for reconnecting to the native host.
// Pure: the caller owns the timer, so this is testable under node.

export class Backoff {
  constructor({ base = 500, cap = 30_000, random = Math.random } = {}) {
    this.base = base;
    this.cap = cap;
    this.random = random;
    this.attempts = 0;
  }

  /** The next delay in ms: base·2ⁿ capped, drawn from [½·d, d] so many clients do not retry in step. */
  next() {
    const ceiling = Math.min(this.cap, this.base * 2 ** this.attempts);
    this.attempts += 1;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  reset() {
    this.attempts = 0;
  }
}
