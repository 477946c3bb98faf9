/* fieldapp service worker, shell version {{ version }} (made by fieldapp.field; never cached).
 * install: precache the whole shell, then take over; activate: drop older shells, claim pages;
 * fetch: /app network first (the cached shell when offline), the shell's files from the
 * cache, and never /api/. {% if module %}Module form: also sends the outbox on Background Sync.{% endif %}
 */
{% if module -%}
import { flush } from {{ outbox_url|tojson }};
{% endif -%}
const VERSION = {{ version|tojson }};
const CACHE = `fieldapp-shell-${VERSION}`;
const SHELL = '/app';
const PRECACHE = {{ precache|tojson }};
const PRECACHED = new Set(PRECACHE);
// A weak signal must not keep a member waiting for the form: fall back to the cache.
const NAVIGATION_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // Versioned files never change, so the copies the page just loaded will do; the
      // page and the manifest are checked with the server ('no-cache': a 304 costs nothing).
      const versioned = `/app/v/${VERSION}/`;
      await cache.addAll(
        PRECACHE.map((url) => new Request(url, { cache: url.startsWith(versioned) ? 'default' : 'no-cache' })),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((name) => name.startsWith('fieldapp-shell-') && name !== CACHE).map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

async function shellFromNetwork(request) {
  // A navigation request cannot be re-made with an AbortSignal, so race it against a timer.
  const network = fetch(request).then((response) => {
    if (!response.ok) throw new Error(`status ${response.status}`); // a proxy's 502 is no shell
    return response;
  });
  network.catch(() => {}); // if the timer wins, a later failure is expected, not an error
  let timer;
  const slow = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('slow')), NAVIGATION_TIMEOUT_MS);
  });
  try {
    return await Promise.race([network, slow]);
  } catch {
    const cached = await caches.match(SHELL, { cacheName: CACHE, ignoreSearch: true });
    return cached || network;
  } finally {
    clearTimeout(timer);
  }
}

async function fromCache(request) {
  const cached = await caches.match(request, { cacheName: CACHE, ignoreVary: true });
  return cached || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate' && url.pathname === SHELL) {
    event.respondWith(shellFromNetwork(request));
  } else if (PRECACHED.has(url.pathname + url.search)) {
    event.respondWith(fromCache(request));
  }
});
{% if module %}
self.addEventListener('sync', (event) => {
  if (event.tag !== 'fieldapp-outbox') return;
  event.waitUntil(
    flush().then((result) => {
      // Rejecting asks the browser to try again later (it gives up after a few tries;
      // the page sends by itself whenever it is open).
      if (result.status === 'retry') throw new Error('not sent yet');
    }),
  );
});
{%- endif %}
