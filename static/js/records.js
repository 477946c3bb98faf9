/** The life of a record on the phone: born with a UUID at rev 1, edited or voided as rev + 1. */
import { changed, updateAndCount } from './store.js';

/** A random UUID v4 (crypto.randomUUID where there is one). */
export function uuid4() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const pad = (n) => String(n).padStart(2, '0');

/** The phone's local time as ISO 8601 with its offset: 2025-10-20T09:14:03+07:00. */
export function isoNow(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** What the server is sent for a record (the contract's fields only). */
export function wire(record) {
  const { id, rev, type, recorded_at, voided, data } = record;
  return { id, rev, type, recorded_at, voided: Boolean(voided), data };
}

/** Save a new record (waiting to be sent); `local` holds marks kept on the phone only. */
export async function createRecord(type, data, local = {}) {
  const record = {
    ...local,
    id: uuid4(),
    rev: 1,
    type,
    recorded_at: isoNow(),
    voided: false,
    data,
    state: 'waiting',
    errors: null,
    sent_rev: 0,
    saved_at: Date.now(),
  };
  // One transaction stores the entry and counts what waits; only once it is complete does
  // the screen say "Chờ gửi" (changed() updates it in place from these counts).
  const { counts } = await updateAndCount((store) => store.put(record));
  changed({ records: [record], counts });
  return record;
}

/** Save a correction (new data) or a void of a record as its next revision. */
export async function reviseRecord(id, { data, voided } = {}) {
  const { result: record, counts } = await updateAndCount(async (store) => {
    const current = await store.get(id);
    if (!current) return null;
    const next = {
      ...current,
      rev: current.rev + 1,
      data: data ?? current.data,
      voided: voided ?? current.voided,
      state: 'waiting',
      errors: null,
      saved_at: Date.now(),
    };
    await store.put(next);
    return next;
  });
  changed(record ? { records: [record], counts } : null);
  return record;
}
