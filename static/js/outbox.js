/**
 * The outbox: sends waiting records and applies the server's answer to each (id, rev).
 * Runs in pages and in the service worker (Background Sync). One send at a time across
 * tabs and the worker (Web Locks), and one at a time within a tab.
 */
import { ApiError, fetchErased, fetchRecords, sendOutboxReport, sendRecords } from './connection.js';
import { wire } from './records.js';
import { changed, counts, getMeta, setMeta, updateRecords, waitingRecords } from './store.js';

export const BATCH = 200; // the server's limit per request
const LOCK = 'fieldapp-sync';

const DONE = new Set(['stored', 'unchanged']);

/** Apply the server's per-record results; resolves to {stale: the ids the server holds newer
 * copies of, updated: the records whose state changed}. */
export function applyResults(results) {
  return updateRecords(async (store) => {
    const stale = [];
    const updated = [];
    for (const result of results) {
      if (!result || typeof result.id !== 'string') continue;
      const record = await store.get(result.id);
      if (!record) continue;
      const sameRev = record.rev === result.rev;
      if (DONE.has(result.status)) {
        record.sent_rev = Math.max(record.sent_rev || 0, result.rev);
        // Edited while this revision was on its way: the newer revision still waits.
        if (sameRev) {
          record.state = 'sent';
          record.errors = null;
        }
      } else if (result.status === 'invalid') {
        if (!sameRev) continue; // an older revision's fault; the newer one will be judged
        record.state = 'invalid';
        record.errors = result.errors && typeof result.errors === 'object' ? result.errors : {};
      } else if (result.status === 'stale') {
        if (record.rev <= (result.server_rev ?? record.rev)) stale.push(record.id);
        continue;
      } else {
        continue; // an answer we do not know: keep the record waiting
      }
      await store.put(record);
      updated.push(record);
    }
    return { stale, updated };
  });
}

// The shell's version is in this module's own address (/app/v/<version>/js/outbox.js).
const APP_VERSION = (/\/app\/v\/([A-Za-z0-9._+-]{1,40})\//u.exec(import.meta.url) || [])[1] || '';

/**
 * The outbox report of the contract (v1): what waits besides `sending` (the ids of the
 * request's own records), the oldest of it, what needs a fix, the app, lasting storage.
 */
export async function outboxReport(meta, sending = new Set()) {
  const others = (await waitingRecords()).filter((r) => !sending.has(r.id));
  const { invalid } = await counts();
  let persisted = null;
  try {
    const answer = await navigator.storage?.persisted?.();
    if (typeof answer === 'boolean') persisted = answer;
  } catch {
    persisted = null; // the browser cannot tell
  }
  const oldest = others.length ? Math.min(...others.map((r) => r.saved_at || Date.now())) : null;
  return {
    v: 1,
    waiting: others.length,
    oldest_waiting_at: oldest === null ? null : new Date(oldest).toISOString(),
    needs_fix: invalid,
    app_version: APP_VERSION,
    storage_persisted: persisted,
    last_sent_at: meta.last_sent_at || null,
  };
}

const REPORT_GAP_MS = 60000;
let lastReport = { key: '', at: 0 };

/**
 * Tell the ward office what this phone holds, without sending records. The same report is
 * sent again at most once a minute unless `force`. True if it went.
 */
export async function reportOutbox({ force = false } = {}) {
  const meta = await getMeta();
  if (!meta.token || meta.revoked) return false;
  const report = await outboxReport(meta);
  const key = JSON.stringify(report);
  if (!force && key === lastReport.key && Date.now() - lastReport.at < REPORT_GAP_MS) return false;
  try {
    await sendOutboxReport(meta.token, report);
    lastReport = { key, at: Date.now() };
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.kind === 'auth') {
      await setMeta({ revoked: true });
      changed();
    }
    return false;
  }
}

/** Put the server's copy of records into the store, as sent. `only`: ids to take, or all. */
async function takeServerCopies(token, { only = null, keepNewerLocal = true } = {}) {
  let since = null;
  let wanted = only ? new Set(only) : null;
  let taken = 0;
  do {
    const page = await fetchRecords(token, since);
    const copies = page.records.filter((r) => r && typeof r.id === 'string' && (!wanted || wanted.has(r.id)));
    taken += await updateRecords(async (store) => {
      let count = 0;
      for (const copy of copies) {
        const local = await store.get(copy.id);
        if (local && keepNewerLocal && local.rev >= copy.rev) continue;
        await store.put({
          id: copy.id,
          rev: copy.rev,
          type: copy.type,
          recorded_at: copy.recorded_at,
          voided: Boolean(copy.voided),
          // The server sends empty fields as null; the phone leaves them out, as it sends them.
          data: Object.fromEntries(Object.entries(copy.data || {}).filter(([, v]) => v !== null)),
          state: 'sent',
          errors: null,
          sent_rev: copy.rev,
          saved_at: local?.saved_at ?? (Date.parse(copy.recorded_at) || Date.now()),
          // An assist the server holds without a name was erased there (or past retention).
          ...(copy.type === 'assist' && !copy.data?.full_name ? { erased: true } : {}),
        });
        count += 1;
      }
      return count;
    });
    if (wanted) {
      copies.forEach((c) => wanted.delete(c.id));
      if (wanted.size === 0) break;
    }
    since = page.next;
  } while (since !== null && since !== undefined);
  return taken;
}

/**
 * Drop `fields` (the personal ones) from this phone's copies of these records, whatever their
 * state: a revision still waiting is sent without them. Everything counted stays. Resolves to
 * the records changed (none when they were erased here already).
 */
export function eraseCopies(ids, fields) {
  return updateRecords(async (store) => {
    const updated = [];
    for (const id of ids) {
      const record = typeof id === 'string' ? await store.get(id) : null;
      if (!record || record.type !== 'assist') continue;
      const data = { ...(record.data || {}) };
      const held = fields.filter((key) => typeof key === 'string' && key in data);
      if (held.length === 0 && record.erased) continue;
      held.forEach((key) => delete data[key]);
      const erased = { ...record, data, erased: true };
      await store.put(erased);
      updated.push(erased);
    }
    return updated;
  });
}

const ERASED_PAGES = 20; // at most this many pages in one round (the next round goes on)

/**
 * Ask which of the member's records the server erased since this phone's cursor (kept in
 * meta.erased_since, so a phone offline for days hears of all of them when it returns), and
 * erase this phone's copies. A failure changes nothing here; the next round asks again.
 */
async function takeErasures(meta) {
  let since = meta.erased_since || '';
  try {
    for (let page = 0; page < ERASED_PAGES; page += 1) {
      const answer = await fetchErased(meta.token, since);
      const updated = await eraseCopies(answer.ids, answer.fields);
      if (updated.length) changed({ records: updated }); // "Của tôi" changes these lines
      since = answer.next;
      await setMeta({ erased_since: since });
      if (!answer.more) break;
    }
  } catch (error) {
    // A cursor the server no longer takes: ask from the start next time (repeats are harmless).
    if (error instanceof ApiError && error.kind === 'refused') await setMeta({ erased_since: '' });
  }
}

/** One send round, inside the lock. Resolves to {status: ok|retry|revoked|no-token, ...}. */
async function flushOnce() {
  const meta = await getMeta();
  if (!meta.token) return { status: 'no-token' };
  if (meta.revoked) return { status: 'revoked' };
  // First what the server erased: a waiting revision of such a record then goes without them.
  await takeErasures(meta);
  const tried = new Set();
  let limit = BATCH;
  let sent = 0;
  for (;;) {
    const batch = (await waitingRecords())
      .filter((r) => !tried.has(`${r.id}:${r.rev}`))
      .slice(0, limit);
    if (batch.length === 0) break;
    let results;
    try {
      const report = await outboxReport(meta, new Set(batch.map((r) => r.id)));
      results = await sendRecords(meta.token, batch.map(wire), report);
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'auth') {
        await setMeta({ revoked: true });
        changed();
        return { status: 'revoked' };
      }
      if (error instanceof ApiError && error.status === 413 && limit > 1) {
        limit = Math.ceil(limit / 2); // too big: smaller batches
        continue;
      }
      return { status: 'retry', retryAfter: error.retryAfter || 0, kind: error.kind };
    }
    batch.forEach((r) => tried.add(`${r.id}:${r.rev}`));
    meta.last_sent_at = new Date().toISOString();
    await setMeta({ last_sent_at: meta.last_sent_at });
    const { stale, updated } = await applyResults(results);
    sent += batch.length;
    changed({ records: updated }); // "Của tôi" changes these lines in place
    if (stale.length) {
      try {
        await takeServerCopies(meta.token, { only: stale, keepNewerLocal: false });
      } catch {
        return { status: 'retry', retryAfter: 0, kind: 'network' };
      }
      changed();
    }
  }
  return { status: 'ok', sent };
}

function withLock(fn) {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request(LOCK, fn) : fn();
}

let running = null;
let again = false;

/** Send everything that waits. Safe to call often: calls during a send join it and rerun it. */
export function flush() {
  if (running) {
    again = true; // something was saved or asked for meanwhile: go round once more
    return running;
  }
  running = (async () => {
    let result;
    do {
      again = false;
      result = await withLock(flushOnce);
    } while (again && result.status === 'ok');
    return result;
  })().finally(() => {
    running = null;
  });
  return running;
}

/**
 * After enrolment (a new phone, or storage cleared): bring the member's history back from the
 * server as "sent". What the phone already holds at the same or a newer revision is kept.
 */
export async function restore() {
  const meta = await getMeta();
  if (!meta.token || !meta.restore_pending || meta.revoked) return 0;
  const taken = await withLock(() => takeServerCopies(meta.token));
  await setMeta({ restore_pending: false });
  if (taken) changed();
  return taken;
}
