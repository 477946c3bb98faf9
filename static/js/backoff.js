/** Exponential back-off with full jitter, capped, so a server that comes back is reached soon. */

export const BASE_MS = 1000;
// With full jitter a wait is at most CAP_MS: a server back up is reached within ~30 s.
export const CAP_MS = 30000;
// A Retry-After is honoured, but never beyond this.
export const RETRY_AFTER_MAX_MS = 120000;
// Above a Retry-After, a random part of it again up to this share: phones turned away together
// by a busy server come back spread out, not all at the same second.
export const RETRY_AFTER_SPREAD = 0.5;

/** A back-off: next() gives the next wait in ms, reset() starts over after a success. */
export function createBackoff({ base = BASE_MS, cap = CAP_MS, random = Math.random } = {}) {
  let attempt = 0;
  return {
    next(retryAfterSeconds = 0) {
      const ceiling = Math.min(cap, base * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      const jittered = Math.max(250, Math.floor(random() * ceiling));
      const asked = Math.min(Number(retryAfterSeconds) * 1000 || 0, RETRY_AFTER_MAX_MS);
      const spread = Math.floor(random() * asked * RETRY_AFTER_SPREAD);
      return Math.max(jittered, Math.min(asked + spread, RETRY_AFTER_MAX_MS));
    },
    reset() {
      attempt = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
