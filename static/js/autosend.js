/**
 * When to send: after a save, when the network returns, when the app opens or comes back
 * to the screen, every 2.5 minutes while open, after a failure with back-off (forever), and
 * through Background Sync where the browser has it.
 */
import { createBackoff } from './backoff.js';
import { flush, reportOutbox } from './outbox.js';

export const PERIOD_MS = 150000;
// The light outbox report: when the app opens (or the network or the member comes back) with
// nothing to send, and after a failed send (outbox.js sends the same report once a minute at most).
const REPORT_ALWAYS = new Set(['open', 'online', 'manual']);
export const SYNC_TAG = 'fieldapp-outbox';

/** Ask the browser to wake the worker to send when it has a network (Chromium only). */
export function requestBackgroundSync() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready
    .then((registration) => registration.sync?.register(SYNC_TAG))
    .catch(() => {}); // refused or unsupported: the page sends by itself anyway
}

/** Start sending on every trigger; onResult(result, reason) after each attempt. */
export function startAutoSend({ onResult = () => {}, onStart = () => {} } = {}) {
  const backoff = createBackoff();
  let retryTimer = null;

  function report(reason, result) {
    const nothingSent = result.status === 'ok' && !result.sent && reason !== 'timer' && reason !== 'save';
    if (result.status !== 'retry' && !nothingSent) return;
    reportOutbox({ force: REPORT_ALWAYS.has(reason) }).catch(() => {});
  }

  async function run(reason) {
    clearTimeout(retryTimer);
    retryTimer = null;
    // Offline for sure: wait for the `online` event instead of failing in a loop.
    if (!navigator.onLine && reason !== 'manual') return null;
    onStart(reason);
    const result = await flush();
    report(reason, result);
    if (result.status === 'retry') {
      retryTimer = setTimeout(() => run('retry'), backoff.next(result.retryAfter));
      requestBackgroundSync();
    } else if (result.status === 'ok') {
      backoff.reset();
    }
    onResult(result, reason);
    return result;
  }

  window.addEventListener('online', () => {
    backoff.reset();
    run('online');
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') run('visible');
  });
  setInterval(() => run('timer'), PERIOD_MS);
  run('open');

  return {
    sendNow() {
      backoff.reset();
      return run('manual');
    },
    afterSave() {
      requestBackgroundSync();
      return run('save');
    },
  };
}
