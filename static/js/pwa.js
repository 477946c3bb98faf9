/** The installable app: the service worker, safe updates, the install offer, lasting storage. */
import { $ } from './ui.js';

const RELOAD_KEY = 'fieldapp-reloaded-at';
const LATER_KEY = 'fieldapp-install-later';
const LATER_MS = 3 * 24 * 3600 * 1000;

/**
 * Register the worker and reload once when a new version takes over, so the page never
 * runs old scripts against a new cache. isBusy(): wait while someone is typing.
 */
export function registerWorker({ isBusy = () => false } = {}) {
  if (!('serviceWorker' in navigator)) return;
  // Chromium has Background Sync and module workers: the module worker can send by itself.
  const module = 'SyncManager' in window;
  const options = { scope: '/', updateViaCache: 'none' };
  const classic = () => navigator.serviceWorker.register('/sw.js', options);
  (module ? navigator.serviceWorker.register('/sw.js?module=1', { ...options, type: 'module' }) : classic())
    .catch(() => (module ? classic() : null))
    .catch(() => {});
  // Look for a new version whenever the network or the member comes back, not only on a
  // navigation: the app may stay open on one screen all day.
  const check = () => {
    navigator.serviceWorker.getRegistration('/').then((r) => r?.update()).catch(() => {});
  };
  window.addEventListener('online', check);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });

  let hadController = Boolean(navigator.serviceWorker.controller);
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController) {
      hadController = true; // the first worker took this page over: same version, no reload
      return;
    }
    if (reloading) return;
    const last = Number(sessionStorage.getItem(RELOAD_KEY) || 0);
    if (Date.now() - last < 10000) return; // never loop
    reloading = true;
    const reload = () => {
      sessionStorage.setItem(RELOAD_KEY, String(Date.now()));
      location.reload();
    };
    // Half-typed entries are not thrown away: reload once the form is saved or left.
    const wait = () => (isBusy() ? setTimeout(wait, 1000) : reload());
    wait();
  });
}

/**
 * Offer "add to home screen" above the log form: the browser's prompt, or the steps in words
 * on an iPhone. "Để sau" is remembered on the phone (localStorage) for LATER_MS. isBusy():
 * someone is typing, so the offer would push the form under their fingers; offer() again
 * later (the app does after each save and on opening the form).
 */
export function setupInstall({ isBusy = () => false } = {}) {
  const box = $('#install');
  const standalone = window.matchMedia('(display-mode: standalone)').matches || navigator.standalone;
  const dismissed = () => Date.now() - Number(localStorage.getItem(LATER_KEY) || 0) < LATER_MS;
  let possible = false; // the browser can install the app, or it is an iPhone
  const offer = () => {
    if (possible && box.hidden && !dismissed() && !isBusy()) box.hidden = false;
  };
  if (standalone || dismissed()) return { offer: () => {} };
  let deferred = null;
  window.addEventListener('beforeinstallprompt', (event) => {
    event.preventDefault();
    deferred = event;
    $('#install-yes').hidden = false;
    possible = true;
    offer();
  });
  window.addEventListener('appinstalled', () => {
    possible = false;
    box.hidden = true;
  });
  $('#install-yes').addEventListener('click', async () => {
    box.hidden = true;
    possible = false;
    if (!deferred) return;
    deferred.prompt();
    await deferred.userChoice.catch(() => null);
    deferred = null;
  });
  $('#install-no').addEventListener('click', () => {
    box.hidden = true;
    localStorage.setItem(LATER_KEY, String(Date.now()));
  });
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/u.test(ua) || (/Macintosh/u.test(ua) && navigator.maxTouchPoints > 1);
  if (ios) {
    $('#install-ios').hidden = false;
    possible = true;
    offer();
  }
  return { offer };
}

/** Ask the browser not to evict our data under storage pressure. */
export function askPersistentStorage() {
  navigator.storage?.persist?.().catch(() => false);
}
