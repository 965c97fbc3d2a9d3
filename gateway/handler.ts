/**
 * The per-request entry of the data plane: request hygiene, the routing decision from the current
 * table (one reference, swapped atomically by a reload), denials (replication 404, admin 403),
 * 503 when no server is available, then an Exchange (gateway/proxy.ts).
 */
import type { ClientRequest, ClientResponse } from './client-message.ts';
import type { RequestHead } from './http1-request.ts';
import type { RouteRequest } from '../routing/types.ts';
import type { ListenerKind, RoutingTable } from '../routing/table.ts';
import type { CidrSet } from '../routing/cidr.ts';
import { clientIp } from '../routing/keys.ts';
import { ProxyError, sendError, statusFor } from './errors.ts';
import { Exchange, type ProxyContext } from './proxy.ts';
import { badTarget } from './request-checks.ts';
import type { RuntimeIndex, RouteRuntime } from './route-runtime.ts';

/** The current routing generation: table + its per-route runtimes + trusted proxies. */
export interface Generation {
  readonly table: RoutingTable;
  readonly runtimes: RuntimeIndex;
  readonly trusted: CidrSet;
  readonly maxHeader: number;
  /** Request header names kept per request: the table's plus the proxy's own. */
  readonly wanted: ReadonlySet<string>;
}

/** What the handler needs from the gateway. */
export interface HandlerHost extends ProxyContext {
  readonly generation: Generation;
  /** A request that never reached an exchange finished (denied, malformed, no server). */
  finishLocal(req: ClientRequest, rt: RouteRuntime, upstream: string, status: number, error: string, start: number): void;
  /** Called once per proxied request at its start (drain accounting). */
  begin(): void;
}

/** Transaction-ID paths: PUT there is idempotent (client-server API "Transaction identifiers"; federation /send/{txnId}). */
const TXN_PUT = /^\/_matrix\/(?:client\/[^/]+\/(?:rooms\/[^/]+\/(?:send\/[^/]+|redact\/[^/]+)|sendToDevice\/[^/]+)|federation\/v1\/send)\/[^/]+$/;

/** True for requests a retry cannot duplicate (issue 3, point 4). */
export function isIdempotent(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return true;
  return method === 'PUT' && TXN_PUT.test(path);
}

/**
 * What the router sees of a parsed request: the path and query are slices of the request
 * target (so the path routed is byte for byte the path forwarded), the headers are the parsed
 * ones (only those the table and the proxy read, see keptRequestHeaders).
 */
export function routeRequest(head: RequestHead, remoteAddress: string): RouteRequest {
  const url = head.url;
  const q = url.indexOf('?');
  // plainPath: parseRequestHead admitted only the bytes 0x21–0x7E and 0x80–0xFF in the target,
  // read as latin1 (no CR, LF, or character above 0xFF such as U+2028), so the matcher need not
  // search the path for line terminators.
  return { method: head.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: head.headers, sourceIp: remoteAddress, plainPath: true };
}

/** Handles one request that arrived on a listener of `kind`. */
export function handleRequest(host: HandlerHost, req: ClientRequest, res: ClientResponse, kind: ListenerKind): void {
  const start = performance.now();
  const gen = host.generation;
  const head = req.head;
  const url = head.url;
  const bad = badTarget(url);
  if (bad !== null) return local(host, req, res, gen.runtimes.fallback, gen.table.defaultUpstream.name, new ProxyError('bad_request', bad), start);
  const rr = routeRequest(head, req.remoteAddress);
  const path = rr.path;
  const d = gen.table.decide(rr, kind);
  const rt = gen.runtimes.get(d.route);
  if (d.denied !== undefined) {
    const err = d.denied === 'replication' ? new ProxyError('replication_denied', 'not found') : new ProxyError('admin_denied', 'the admin API is not available here');
    return local(host, req, res, rt, d.upstream, err, start);
  }
  if (rt.maxHeader < gen.maxHeader && head.text.length > rt.maxHeader) {
    res.keepAlive = false;
    return local(host, req, res, rt, d.upstream, new ProxyError('bad_request', 'request headers too large'), start, 431);
  }
  if (d.server === null) return local(host, req, res, rt, d.upstream, new ProxyError('no_server', `no server of upstream '${d.upstream}' is available`), start);
  host.begin();
  const trustedPeer = gen.trusted.size > 0 && gen.trusted.has(rr.sourceIp);
  new Exchange(req, res, host, {
    runtime: rt, upstream: d.upstream, balancer: d.balancer, key: d.key, server: d.server,
    clientIp: trustedPeer ? clientIp(rr, gen.trusted) : rr.sourceIp, trustedPeer, idempotent: isIdempotent(rr.method, path),
  }).run();
}

function local(host: HandlerHost, req: ClientRequest, res: ClientResponse, rt: RouteRuntime, upstream: string, err: ProxyError, start: number, status = statusFor(err.code)): void {
  if (status === 400 || status === 431) res.keepAlive = false;
  sendError(res, status, err.message);
  host.finishLocal(req, rt, upstream, status, err.code, start);
}
