/** Talking to the server's JSON API. Only a JSON answer counts; anything else is a failure. */

const TIMEOUT_MS = 30000;

/** Why a call failed: network, auth (401), retry (429/5xx/not JSON), refused (other 4xx). */
export class ApiError extends Error {
  constructor(kind, status = 0, { retryAfter = 0, body = null } = {}) {
    super(`${kind} ${status}`);
    this.kind = kind;
    this.status = status;
    this.retryAfter = retryAfter;
    this.body = body;
  }

  /** The server's own Vietnamese message, if it sent one. */
  get serverMessage() {
    return (this.body && typeof this.body.message === 'string' && this.body.message) || '';
  }
}

function retryAfterSeconds(response) {
  const value = response.headers.get('Retry-After');
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const when = Date.parse(value);
  return Number.isNaN(when) ? 0 : Math.max(0, (when - Date.now()) / 1000);
}

/** fetch a JSON API path; resolves to {status, body} for a 2xx JSON object, else throws ApiError. */
export async function request(path, { method = 'GET', token = null, body, timeout = TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  // A weak signal can leave a request hanging for minutes while it holds the send lock.
  const timer = setTimeout(() => controller.abort(), timeout);
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit', // the device token is the only credential: no cookies, no CSRF
        cache: 'no-store',
        redirect: 'error', // a redirect (to a login page, a captive portal) is never an answer
        signal: controller.signal,
      });
    } catch {
      throw new ApiError('network');
    }
    let json = null;
    if ((response.headers.get('Content-Type') || '').includes('application/json')) {
      try {
        json = await response.json();
      } catch {
        json = null;
      }
    }
    const status = response.status;
    if (status === 401) throw new ApiError('auth', status, { body: json });
    if (status === 408 || status === 429 || status >= 500) {
      throw new ApiError('retry', status, { retryAfter: retryAfterSeconds(response), body: json });
    }
    if (status < 200 || status >= 300) throw new ApiError('refused', status, { body: json });
    // A 200 that is not a JSON object (a proxy's page, a portal) confirms nothing.
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ApiError('retry', status);
    }
    return { status, body: json };
  } finally {
    clearTimeout(timer);
  }
}

/** Enrol this phone with a one-time code. */
export function enrolDevice(code, label) {
  return request('/api/v1/devices', { method: 'POST', body: { code, label } });
}

/** The member's profile: member, campaign, units, ward. */
export function fetchProfile(token) {
  return request('/api/v1/me', { token });
}

/** Send a batch of records (with the outbox report, if given); resolves to the per-record results. */
export async function sendRecords(token, records, outbox = null) {
  const payload = outbox ? { records, outbox } : { records };
  const { body } = await request('/api/v1/sync', { method: 'POST', token, body: payload });
  if (!Array.isArray(body.results)) throw new ApiError('retry', 200);
  return body.results;
}

/** One page of the member's own records on the server: {records, next}. */
export async function fetchRecords(token, since = null) {
  const query = since === null || since === undefined ? '' : `?since=${encodeURIComponent(since)}`;
  const { body } = await request(`/api/v1/records${query}`, { token });
  if (!Array.isArray(body.records)) throw new ApiError('retry', 200);
  return { records: body.records, next: body.next ?? null };
}

/** The outbox report alone: when there is nothing to send, or the send failed. */
export function sendOutboxReport(token, outbox) {
  return request('/api/v1/outbox', { method: 'POST', token, body: { outbox } });
}

/**
 * Which of the member's records the server erased since the phone's cursor (empty: from the
 * start): {ids, fields, next, more}. An optional addition to the contract (v1).
 */
export async function fetchErased(token, since = '') {
  const { body } = await request(`/api/v1/erased?since=${encodeURIComponent(since || '')}`, { token });
  if (!Array.isArray(body.ids) || !Array.isArray(body.fields) || typeof body.next !== 'string') {
    throw new ApiError('retry', 200);
  }
  return body;
}
