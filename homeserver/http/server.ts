/**
 * The HTTP layer on node:http: one server per listener, each with the router built for that
 * listener's resources. Authenticates, reads and parses JSON bodies with a size limit, runs the
 * handler and maps every error to a Matrix error body in one place (`toReply`). Access tokens are
 * never logged: only the method and the path without its query string are.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Homeserver } from '../context.ts';
import { MatrixError } from '../errors.ts';
import { requesterForToken, tokenFromRequest } from '../storage/users.ts';
import type { Router } from './router.ts';
import type { Reply, RequestContext, RouteDef } from './types.ts';

const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Starts a listener on `port` (0 = any) and `host`. */
export async function listen(hs: Homeserver, router: Router, port: number, host: string): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handle(hs, router, req, res));
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** The bound port of a listening server. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function handle(hs: Homeserver, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const abort = new AbortController();
  // Only a client that left early aborts: 'close' also follows every finished response, and an
  // abort builds a DOMException (a stack trace) each time.
  res.once('close', () => { if (!res.writableFinished) abort.abort(); });
  let reply: Reply;
  try {
    if (req.method === 'OPTIONS') reply = { body: {} };
    else reply = await dispatch(hs, router, req, path, query, abort.signal);
  } catch (err) {
    reply = toReply(hs, err, req.method ?? '?', path);
    // A body over the limit is not read: close the connection rather than let node:http drain
    // up to the declared length, as Synapse's request layer drops the connection after its 413.
    if (err instanceof MatrixError && err.errcode === 'M_TOO_LARGE') reply.close = true;
  }
  send(res, reply);
}

async function dispatch(hs: Homeserver, router: Router, req: IncomingMessage, path: string, query: URLSearchParams, signal: AbortSignal): Promise<Reply> {
  const match = router.match(req.method ?? 'GET', path);
  if (match === null) throw new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404);
  if (match === 'method_not_allowed') throw new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 405);
  const limit = hs.config.max_request_body_size ?? DEFAULT_BODY_LIMIT;
  // A declared length over the limit is refused before anything else (Synapse's request layer does
  // the same); then, as in Synapse, authentication comes before the body is read or parsed, so a
  // request without a valid token gets 401 whatever its body. An unread body of a refused request
  // (401, 404...) is drained by node:http once the response ends, so the connection stays usable;
  // after a 413 the connection is closed instead (handle).
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new MatrixError('M_TOO_LARGE', `request body exceeds ${limit} bytes`);
  const ctx: RequestContext = { method: req.method ?? 'GET', path, params: match.params, query, headers: req.headers, body: {}, requester: undefined, signal };
  await authenticate(hs, match.def, ctx);
  ctx.body = await readJson(req, limit);
  return match.def.handler(ctx);
}

async function authenticate(hs: Homeserver, def: RouteDef, ctx: RequestContext): Promise<void> {
  if (def.auth === 'none') return;
  if (def.auth === 'replication') return checkReplicationSecret(hs, ctx);
  const token = tokenFromRequest(ctx.headers.authorization, ctx.query);
  if (token === undefined) {
    if (def.auth === 'optional') return;
    throw new MatrixError('M_MISSING_TOKEN', 'Missing access token');
  }
  // Keyed by the token itself (in memory only): hashing it on every request cost more than the lookup.
  const key = token;
  const requester = await hs.caches.tokens.get(key, async () => (await requesterForToken(hs.pool, token)) ?? null);
  if (!requester) hs.caches.tokens.invalidate(key); // never keep misses: random tokens must not fill the cache
  if (!requester) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', 401, { soft_logout: false });
  ctx.requester = requester;
}

/** `/_synapse/replication/` calls must carry `Bearer <worker_replication_secret>` when one is set. */
function checkReplicationSecret(hs: Homeserver, ctx: RequestContext): void {
  const secret = hs.config.worker_replication_secret;
  if (!secret) return;
  const given = /^Bearer (.+)$/.exec(ctx.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new MatrixError('M_UNAUTHORIZED', 'replication secret required', 401);
}

function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' && !req.headers['content-length']) {
    req.resume();
    return Promise.resolve({});
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(new MatrixError('M_TOO_LARGE', `request body exceeds ${limit} bytes`)); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size === 0) return resolve({});
      let v: unknown;
      try { v = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return reject(new MatrixError('M_NOT_JSON', 'Content not JSON.')); }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return reject(new MatrixError('M_BAD_JSON', 'Body must be a JSON object'));
      resolve(v as Record<string, unknown>);
    });
  });
}

/** The one place errors become responses. */
export function toReply(hs: Homeserver, err: unknown, method: string, path: string): Reply {
  if (err instanceof MatrixError) return { status: err.status, body: err.body() };
  hs.log.error({ err, method, path }, 'request failed');
  return { status: 500, body: { errcode: 'M_UNKNOWN', error: 'Internal server error' } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const body = JSON.stringify(reply.body ?? {});
  res.writeHead(reply.status ?? 200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
    'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
    ...(reply.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
