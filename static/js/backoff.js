/** Exponential back-off with full jitter, capped, so a server that comes back is reached soon. */

export const BASE_MS = 1000;
// With full jitter a wait is at most CAP_MS: a server back up is reached within ~30 s.
export const CAP_MS = 30000;
// A Retry-After is honoured, but never beyond this.
export const RETRY_AFTER_MAX_MS = 120000;

/** A back-off: next() gives the next wait in ms, reset() starts over after a success. */
export function createBackoff({ base = BASE_MS, cap = CAP_MS, random = Math.random } = {}) {
  let attempt = 0;
  return {
    next(retryAfterSeconds = 0) {
      const ceiling = Math.min(cap, base * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      const jittered = Math.max(250, Math.floor(random() * ceiling));
      const asked = Math.min(Number(retryAfterSeconds) * 1000 || 0, RETRY_AFTER_MAX_MS);
      return Math.max(jittered, asked);
    },
    reset() {
      attempt = 0;
    },
    get attempt() {
      return attempt;
    },
  };
}
