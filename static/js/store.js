/**
 * IndexedDB: `records` (every local record with its send state) and `meta` (the device's
 * token and profile). Works in pages and in the service worker.
 *
 * A record: {id, rev, type, recorded_at, voided, data,            <- what the server gets
 *            state: 'waiting' | 'sent' | 'invalid', errors, sent_rev, saved_at}
 */
import { openDB } from '../vendor/idb-8.0.4/index.js';

const DB_NAME = 'fieldapp';
const DB_VERSION = 1;
const CHANNEL = 'fieldapp';

let opening = null;

function open() {
  if (!opening) {
    opening = openDB(DB_NAME, DB_VERSION, {
      upgrade(database) {
        const records = database.createObjectStore('records', { keyPath: 'id' });
        records.createIndex('state', 'state');
        database.createObjectStore('meta');
      },
      blocking() {
        // A newer app version needs to upgrade the database: let it (this page reloads).
        const current = opening;
        opening = null;
        current?.then((database) => database.close());
      },
      terminated() {
        opening = null; // iOS may close the connection under memory pressure: reopen next time
      },
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

/** Run fn(database), reopening once if the connection was closed under us. */
async function withDb(fn) {
  try {
    return await fn(await open());
  } catch (error) {
    if (error && error.name === 'InvalidStateError') {
      opening = null;
      return fn(await open());
    }
    throw error;
  }
}

// --- change notices: this tab's listeners, other tabs and the worker via BroadcastChannel
const listeners = new Set();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
if (channel) channel.onmessage = () => listeners.forEach((fn) => fn());

/** Call fn whenever records or meta change, here or in another tab or the worker. */
export function onChange(fn) {
  listeners.add(fn);
}

/**
 * Tell everyone that records or meta changed. `detail` (this tab only) may say what changed:
 * {records: the records just saved, counts: {waiting, invalid} read in the same transaction},
 * so the screen is updated in place with no further read; other tabs read afresh.
 */
export function changed(detail = null) {
  listeners.forEach((fn) => fn(detail));
  channel?.postMessage({ type: 'changed' });
}

// --- meta
/** Every meta value as one object. */
export function getMeta() {
  return withDb(async (database) => {
    const tx = database.transaction('meta');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
    return Object.fromEntries(keys.map((key, i) => [key, values[i]]));
  });
}

/** Set several meta values in one transaction. */
export function setMeta(values) {
  return withDb(async (database) => {
    const tx = database.transaction('meta', 'readwrite');
    await Promise.all(Object.entries(values).map(([key, value]) => tx.store.put(value, key)));
    await tx.done;
  });
}

/** Forget everything: records and profile (sign-out). */
export function clearAll() {
  return withDb(async (database) => {
    const tx = database.transaction(['records', 'meta'], 'readwrite');
    await Promise.all([tx.objectStore('records').clear(), tx.objectStore('meta').clear()]);
    await tx.done;
  });
}

// --- records
export function getRecord(id) {
  return withDb((database) => database.get('records', id));
}

export function allRecords() {
  return withDb((database) => database.getAll('records'));
}

export function countRecords() {
  return withDb((database) => database.count('records'));
}

/** Records waiting to be sent, oldest first. */
export function waitingRecords() {
  return withDb(async (database) => {
    const rows = await database.getAllFromIndex('records', 'state', 'waiting');
    return rows.sort((a, b) => (a.saved_at || 0) - (b.saved_at || 0));
  });
}

/** How many records wait, and how many need fixing. */
export function counts() {
  return withDb(async (database) => {
    const tx = database.transaction('records');
    const index = tx.store.index('state');
    const [waiting, invalid] = await Promise.all([index.count('waiting'), index.count('invalid')]);
    return { waiting, invalid };
  });
}

/**
 * A save's one transaction: fn(store) gets and puts, then the same transaction counts what
 * waits and needs fixing. Resolves once the transaction is complete (the entry is on disk),
 * to {result, counts: {waiting, invalid}}.
 */
export function updateAndCount(fn) {
  return withDb(async (database) => {
    const tx = database.transaction('records', 'readwrite');
    const result = await fn(tx.store);
    const index = tx.store.index('state');
    const [waiting, invalid] = await Promise.all([index.count('waiting'), index.count('invalid')]);
    await tx.done;
    return { result, counts: { waiting, invalid } };
  });
}

/**
 * Read-modify-write records in one transaction: fn(store) may get and put.
 * IndexedDB runs read-write transactions on one store one after another, so a save on the
 * form and a send result can never overwrite each other.
 */
export function updateRecords(fn) {
  return withDb(async (database) => {
    const tx = database.transaction('records', 'readwrite');
    const result = await fn(tx.store);
    await tx.done;
    return result;
  });
}
