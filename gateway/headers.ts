/**
 * Header handling for proxied exchanges (RFC 9110 section 7.6.1: a proxy removes hop-by-hop
 * fields, and any field named in `Connection`, before forwarding). The request head is built as
 * one latin1 string straight from the client's head text, so names, values and the path go out
 * byte-for-byte as they came in (DESIGN.md: "the path matched is byte-for-byte the path
 * forwarded") and no header object is built on the hot path.
 */
import type { ClientRequest } from './client-message.ts';

/** Lower-case hop-by-hop fields (RFC 9110 section 7.6.1) plus the ones this proxy sets itself. */
export const DROP_REQUEST: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'proxy-authorization',
]);
/**
 * Request fields the proxy itself reads when it forwards (besides those the routing table reads,
 * which always include X-Forwarded-For: the client address is resolved from it behind trusted proxies).
 */
const FORWARDING_HEADERS = ['host', 'x-forwarded-proto', 'x-forwarded-host'];

/** The header names each request keeps as parsed fields: what `routed` (RoutingTable.headerNames) and forwarding read. */
export function keptRequestHeaders(routed: ReadonlySet<string>): ReadonlySet<string> {
  return new Set([...routed, ...FORWARDING_HEADERS]);
}

/** Hop-by-hop response fields (RFC 9110 section 7.6.1): never forwarded to the client. */
export const DROP_RESPONSE: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const lowerCache = new Map<string, string>();

/** Lower-cases a header name, memoised: clients send the same few spellings over and over. */
export function lowerName(name: string): string {
  let l = lowerCache.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (lowerCache.size < 4096) lowerCache.set(name, l);
  }
  return l;
}

/** readConnection bit: the value lists `close` (RFC 9112 section 9.6). */
export const CONNECTION_CLOSE = 1;
/** readConnection bit: the value lists `keep-alive` (an HTTP/1.0 client's request to keep the connection, RFC 9112 section 9.3). */
export const CONNECTION_KEEP_ALIVE = 2;
/** readConnection bit: the value names other fields, which a proxy must drop too (RFC 9110 section 7.6.1). */
export const CONNECTION_NAMES = 4;
/**
 * readConnection bit: the value names Content-Length or Host. A sender must not list fields meant
 * for every recipient (RFC 9110 section 7.6.1), and dropping these would take the framing or the
 * target off the forwarded message: the request parser refuses such a request.
 */
export const CONNECTION_END_TO_END = 8;

/**
 * Reads one `Connection` field value: the CONNECTION_* bits for what it lists, and, when `names`
 * is given, each field it names (lower-case) added to it. The request and response parsers read
 * every Connection line once through this and hand the result on (RequestHead/ResponseHead
 * `namesMore`), so forwarding needs no second look unless fields are named.
 */
export function readConnection(value: string, names: Set<string> | null): number {
  let bits = 0;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === 'close') bits |= CONNECTION_CLOSE;
    else if (t === 'keep-alive') bits |= CONNECTION_KEEP_ALIVE;
    else if (t !== '') {
      bits |= t === 'content-length' || t === 'host' ? CONNECTION_NAMES | CONNECTION_END_TO_END : CONNECTION_NAMES;
      names?.add(t);
    }
  }
  return bits;
}

/**
 * What the request head needs besides the client's head: the client address for X-Forwarded-For;
 * whether the immediate peer is a trusted proxy (keep its X-Forwarded-Proto and -Host); whether
 * the body goes out chunked (the client sent it chunked).
 */
interface ForwardInfo {
  readonly clientIp: string;
  readonly trustedPeer: boolean;
  readonly chunked: boolean;
}

/**
 * Builds the upstream request head. The common case forwards the client's head text itself (the
 * request line and every field exactly as received, hop-by-hop lines cut out by their recorded
 * ranges) and appends the X-Forwarded-* fields: no string per field is built. HTTP/1.0 requests
 * and a `Connection` header naming other fields (the parser's `namesMore`) take the field-by-field path.
 */
export function buildRequestHead(req: ClientRequest, clientIp: string, trustedPeer: boolean, chunked: boolean): string {
  const { headers: h, text, drops } = req.head;
  if (req.head.http10 || req.head.namesMore || req.head.absoluteForm) return buildFromFields(req, { clientIp, trustedPeer, chunked });
  const head = drops === null ? text : withoutRanges(text, drops);
  const fields = forwardedFields(clientIp, trustedPeer, chunked, lastValue(h['x-forwarded-proto']), lastValue(h['x-forwarded-host']), h['host'] ?? '');
  return head + '\r\n' + fields + '\r\n';
}

/** `text` without the [from, to) ranges listed in `ranges` (ascending pairs). */
function withoutRanges(text: string, ranges: readonly number[]): string {
  let out = '';
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    out += text.slice(at, ranges[i]!);
    at = ranges[i + 1]!;
  }
  return out + text.slice(at);
}

/** The last element of a field value joined from several lines ('a, b' -> 'b'). */
function lastValue(v: string | undefined): string {
  if (v === undefined) return '';
  const i = v.lastIndexOf(', ');
  return i < 0 ? v : v.slice(i + 2);
}

/**
 * X-Forwarded-For/-Proto/-Host (and Transfer-Encoding for a chunked body), each line ending in CRLF.
 * X-Forwarded-For carries the one client address the gateway resolved (the peer, or behind
 * trusted proxies the rightmost untrusted hop), replacing whatever the request brought: Synapse
 * reads only the first entry of the first X-Forwarded-For (synapse/http/site.py
 * XForwardedForRequest), so a chain passed on from a trusted proxy would hand Synapse its
 * leftmost, client-written entry. Synapse's reverse-proxy guide sets it the same way
 * (`proxy_set_header X-Forwarded-For $remote_addr`).
 */
function forwardedFields(clientIp: string, trusted: boolean, chunked: boolean, proto: string, fwdHost: string, host: string): string {
  let out = 'X-Forwarded-For: ' + clientIp + '\r\n';
  out += 'X-Forwarded-Proto: ' + (trusted && proto !== '' ? proto : 'http') + '\r\n';
  const xfh = trusted && fwdHost !== '' ? fwdHost : host;
  if (xfh !== '') out += 'X-Forwarded-Host: ' + xfh + '\r\n';
  if (chunked) out += 'Transfer-Encoding: chunked\r\n';
  return out;
}

/** The field-by-field head (HTTP/1.0 clients, or fields named in `Connection`). */
function buildFromFields(req: ClientRequest, info: ForwardInfo): string {
  const raw = req.rawHeaders;
  let head = req.head.method + ' ' + req.head.url + ' HTTP/1.1\r\n';
  let extraDrop: Set<string> | null = null;
  let proto = '';
  let fwdHost = '';
  let host = '';
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lc = lowerName(name);
    if (!DROP_REQUEST.has(lc)) {
      if (lc === 'host') {
        // The parsed Host (the parser admits one): the received one, or an absolute-form target's authority.
        host = req.head.headers['host'] ?? raw[i + 1]!;
        sawHost = true;
        head += name + ': ' + host + '\r\n';
        continue;
      }
      head += name + ': ' + raw[i + 1]! + '\r\n';
      continue;
    }
    // Connection values are read again only when the parser saw a named field (namesMore).
    // Every Connection line's names are dropped: a list may be split over lines (RFC 9110 sections 5.3, 7.6.1).
    if (lc === 'connection' && req.head.namesMore) readConnection(raw[i + 1]!, extraDrop ??= new Set());
    else if (lc === 'x-forwarded-proto') proto = raw[i + 1]!;
    else if (lc === 'x-forwarded-host') fwdHost = raw[i + 1]!;
  }
  if (extraDrop !== null) head = dropNamed(head, extraDrop);
  // HTTP/1.0 clients may omit Host; the forwarded HTTP/1.1 request must carry one, empty when
  // there is no authority to name (RFC 9112 section 3.2).
  if (!sawHost) {
    host = req.head.headers['host'] ?? '';
    head += host === '' ? 'Host:\r\n' : 'Host: ' + host + '\r\n';
  }
  return head + forwardedFields(info.clientIp, info.trustedPeer, info.chunked, proto, fwdHost, host) + '\r\n';
}

/** Removes header lines whose names a `Connection` field listed (rare: only then is this paid). */
function dropNamed(head: string, names: Set<string>): string {
  const lines = head.split('\r\n');
  const kept = [lines[0]!];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (!names.has(name)) kept.push(line);
  }
  return kept.join('\r\n') + '\r\n';
}

/** Response fields to pass to the client: hop-by-hop fields removed (flat [name, value, ...]). */
export function filterResponseHeaders(headers: string[]): string[] {
  let extraDrop: Set<string> | null = null;
  let dropping = false;
  for (let i = 0; i < headers.length; i += 2) {
    const lc = lowerName(headers[i]!);
    if (DROP_RESPONSE.has(lc)) {
      dropping = true;
      if (lc === 'connection') readConnection(headers[i + 1]!, extraDrop ??= new Set()); // every line's names (RFC 9110 section 7.6.1)
    }
  }
  if (!dropping) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lc = lowerName(headers[i]!);
    if (DROP_RESPONSE.has(lc) || (extraDrop !== null && extraDrop.has(lc))) continue;
    out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** The value of a header in a flat raw array (case-insensitive), or undefined. */
export function rawHeader(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === lowerName.length && headers[i]!.toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}
