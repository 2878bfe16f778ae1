/*
 * How long to wait before trying again (design note 10): exponential backoff
 * with jitter, as Zulip's client does. The first wait is 1-2 s, each next one
 * about 1.4 times longer, capped at 45-90 s; a server's Retry-After is
 * honoured when it asks for longer. Pure: no timers, no DOM.
 */

export const INITIAL_MS = 1000;
export const RATIO = 1.4;
export const CAP_MS = 45000;

/**
 * Return the wait in ms before retry number `attempt` (0 for the first).
 * `random` is injectable so that tests can pin the jitter.
 */
export function backoffDelay(attempt, {
  retryAfter = null, random = Math.random, initial = INITIAL_MS, ratio = RATIO, cap = CAP_MS,
} = {}) {
  const base = Math.min(cap, initial * Math.pow(ratio, attempt));
  const delay = base * (1 + random());
  return retryAfter ? Math.max(delay, retryAfter + random() * 1000) : delay;
}

/** The attempt counter of one retry loop: next() grows the wait, reset() after a success. */
export class Backoff {
  constructor({ initial = INITIAL_MS, ratio = RATIO, cap = CAP_MS, random = Math.random } = {}) {
    this.options = { initial, ratio, cap, random };
    this.attempt = 0;
  }

  next(retryAfter = null) {
    const delay = backoffDelay(this.attempt, { ...this.options, retryAfter });
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}

/** Parse a Retry-After header (seconds or an HTTP date) into milliseconds, or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, when - now);
}
