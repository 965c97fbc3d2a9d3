/**
 * The few Matrix client-server calls the messaging scenario needs, over one undici Pool:
 * registration (Synapse's shared-secret admin API or open registration with m.login.dummy),
 * createRoom, join, send, sync. Written against the spec (client-server API v1.11) so any
 * homeserver can be the target, not only ours.
 */
import { createHmac } from 'node:crypto';
import type { Pool } from 'undici';

/** A non-2xx answer, carrying the Matrix errcode when the body had one. */
export class MatrixCallError extends Error {
  readonly status: number;
  readonly errcode: string;

  constructor(method: string, path: string, status: number, errcode: string, detail: string) {
    super(`${method} ${path.split('?')[0]} → ${status} ${errcode}${detail ? `: ${detail}` : ''}`);
    this.name = 'MatrixCallError';
    this.status = status;
    this.errcode = errcode;
  }
}

/** An account the scenario logged in. */
export interface Account {
  readonly userId: string;
  readonly token: string;
}

/** Where calls go: the pool for the target's origin and the target's path prefix ('' for none). */
export interface Endpoint {
  readonly pool: Pool;
  readonly base: string;
}

/**
 * One JSON call to `path` (absolute, /_matrix/...) under the endpoint's prefix. `token` goes in
 * the Authorization header (spec §"Using access tokens").
 */
export async function call(ep: Endpoint, method: string, path: string, opts: { token?: string; body?: unknown; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await ep.pool.request({
    method: method as 'GET', path: `${ep.base}${path}`, headers, signal: opts.signal,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    headersTimeout: opts.timeoutMs ?? 15_000, bodyTimeout: opts.timeoutMs ?? 15_000,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try { json = text ? (JSON.parse(text) as Record<string, unknown>) : {}; } catch { /* not JSON: reported below */ }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw Object.assign(new MatrixCallError(method, path, res.statusCode, String(json.errcode ?? 'M_UNKNOWN'), String(json.error ?? text.slice(0, 200))), { body: json });
  }
  return json;
}

/**
 * Synapse's shared-secret registration (Synapse admin API docs, "Shared-Secret Registration"):
 * GET a nonce, then POST the user with an HMAC-SHA1 over nonce, username, password and
 * "admin"/"notadmin" joined by NUL bytes, keyed with `registration_shared_secret`.
 */
export async function registerWithSharedSecret(pool: Endpoint, secret: string, username: string, password: string): Promise<Account> {
  const { nonce } = await call(pool, 'GET', '/_synapse/admin/v1/register');
  if (typeof nonce !== 'string') throw new Error('shared-secret registration: the server sent no nonce');
  const mac = createHmac('sha1', secret).update([nonce, username, password, 'notadmin'].join('\x00')).digest('hex');
  const res = await call(pool, 'POST', '/_synapse/admin/v1/register', { body: { nonce, username, password, admin: false, mac } });
  return account(res);
}

/**
 * Open registration (spec: POST /_matrix/client/v3/register, User-Interactive Authentication):
 * the first call returns 401 with a session and flows; the second completes the m.login.dummy stage.
 */
export async function registerOpen(pool: Endpoint, username: string, password: string): Promise<Account> {
  const body = { username, password, initial_device_display_name: 'switchyard loadtest' };
  try {
    return account(await call(pool, 'POST', '/_matrix/client/v3/register', { body }));
  } catch (err) {
    const uia = (err as { body?: Record<string, unknown> }).body;
    if (!(err instanceof MatrixCallError) || err.status !== 401 || typeof uia?.session !== 'string') throw err;
    return account(await call(pool, 'POST', '/_matrix/client/v3/register', { body: { ...body, auth: { type: 'm.login.dummy', session: uia.session } } }));
  }
}

function account(res: Record<string, unknown>): Account {
  if (typeof res.access_token !== 'string' || typeof res.user_id !== 'string') {
    throw new Error('registration succeeded without an access_token (is inhibit_login set?)');
  }
  return { userId: res.user_id, token: res.access_token };
}

/** A timeline event as /sync returns it (only the fields the scenario reads). */
export interface TimelineEvent {
  readonly type?: string;
  readonly event_id?: string;
  readonly content?: Record<string, unknown>;
}

/** The joined rooms' timeline events of a /sync response, per room. */
export function timelineEvents(sync: Record<string, unknown>): Map<string, TimelineEvent[]> {
  const out = new Map<string, TimelineEvent[]>();
  const join = ((sync.rooms as Record<string, unknown> | undefined)?.join ?? {}) as Record<string, { timeline?: { events?: TimelineEvent[] } }>;
  for (const [roomId, room] of Object.entries(join)) out.set(roomId, room.timeline?.events ?? []);
  return out;
}
