/**
 * Key extractors: which request attribute a keyed balancer hashes on (DESIGN.md "Key extractors",
 * issue 2 point 7). Each runs once per request, so none compiles a regex or parses more of the
 * request than its own key: a query parameter is found by scanning for its name only.
 * A missing or empty key is `null`; the balancer then applies its policy's fallback.
 */
import type { KeySpec } from '../config/routes-schema.ts';
import type { KeyExtractor, RouteRequest } from './types.ts';
import { CidrSet, normalizeIp, stripPort } from './cidr.ts';

export { CidrSet } from './cidr.ts';
/** Options shared by every extractor of one routes.yaml. */
export interface KeyOptions {
  /** CIDRs of proxies whose X-Forwarded-For is believed (routes.yaml `trusted_proxies`). */
  readonly trustedProxies: readonly string[];
  /**
   * Produce the exact key bytes nginx would hash (set it for `policy: nginx_hash`): token_user
   * follows the workers.md `map` blocks byte for byte, and `{query}` keys are `$arg_NAME` (name
   * matched case-insensitively, value not percent-decoded). Default false.
   */
  readonly nginxCompat?: boolean;
}

/** The first value of a header (names are lower-case, as node:http gives them); '' counts as absent. */
export function headerValue(req: RouteRequest, name: string): string | null {
  const v = req.headers[name];
  const s = typeof v === 'string' ? v : v?.[0];
  return s ? s : null;
}

function startsWithFolded(s: string, at: number, lowerName: string): boolean {
  for (let k = 0; k < lowerName.length; k++) {
    const c = s.charCodeAt(at + k);
    const folded = c >= 65 && c <= 90 ? c + 32 : c;
    if (folded !== lowerName.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * The raw (not decoded) value of the first `name=value` pair of a query string, or null. With
 * `ignoreCase` the name matches as nginx's `$arg_NAME` does (`ngx_http_arg`: case-insensitive,
 * only at the start or after `&`, and only when followed by `=`); pass `name` lower-cased then.
 */
export function queryParam(query: string, name: string, ignoreCase = false): string | null {
  return queryParamFinder(name, ignoreCase)(query);
}

/** A query-string reader bound to one parameter name (and case mode): queryParam without the per-call setup. */
export type ParamFinder = (query: string) => string | null;

/** Where the value of the first `name=value` item of a query starts, or -1: a ParamFinder without the slice. */
type ParamStart = (query: string) => number;

/**
 * Builds queryParam for one name: the value from paramStart to the next `&`.
 */
export function queryParamFinder(name: string, ignoreCase = false): ParamFinder {
  const start = paramStart(name, ignoreCase);
  return (query) => {
    const at = start(query);
    return at < 0 ? null : query.slice(at, valueEnd(query, at));
  };
}

/** End (exclusive) of the query value that starts at `at`: the next `&`, or the end. */
function valueEnd(query: string, at: number): number {
  const amp = query.indexOf('&', at);
  return amp < 0 ? query.length : amp;
}

/**
 * Builds the value-start search for one name. ASCII names compile to one native search for
 * `(?:^|&)name=` (its leftmost match is the first item so named) instead of a scan per `&`
 * item; other names keep the item walk, since the `i` flag folds more than nginx's ASCII-only
 * tolower.
 */
function paramStart(name: string, ignoreCase = false): ParamStart {
  if (!/^[\x00-\x7f]*$/.test(name)) return (query) => queryParamLoop(query, name, ignoreCase);
  const re = new RegExp(`(?:^|&)${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}=`, ignoreCase ? 'gi' : 'g');
  return (query) => {
    re.lastIndex = 0;
    return re.test(query) ? re.lastIndex : -1;
  };
}

/** paramStart by walking the `&`-separated items (non-ASCII names, see paramStart). */
function queryParamLoop(query: string, name: string, ignoreCase: boolean): number {
  const n = query.length;
  const len = name.length;
  let start = 0;
  while (start < n) {
    let amp = query.indexOf('&', start);
    if (amp < 0) amp = n;
    if (amp - start > len && query.charCodeAt(start + len) === 61
      && (ignoreCase ? startsWithFolded(query, start, name) : query.startsWith(name, start))) {
      return start + len + 1;
    }
    start = amp + 1;
  }
  return -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Percent-decodes (RFC 3986 §2.1; `+` stays `+`) exactly as decodeURIComponent does, with a
 * fast path for ASCII escapes such as `%21` and `%3A` (what clients send for room IDs);
 * malformed escapes leave the whole text as it came.
 */
export function percentDecode(s: string): string {
  let pct = s.indexOf('%');
  if (pct < 0) return s;
  let out = '';
  let from = 0;
  for (; pct >= 0; pct = s.indexOf('%', from)) {
    const hi = hexDigit(s.charCodeAt(pct + 1));
    const lo = hexDigit(s.charCodeAt(pct + 2));
    if (hi < 0 || lo < 0 || hi >= 8) {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    }
    out += s.slice(from, pct) + String.fromCharCode(hi * 16 + lo);
    from = pct + 3;
  }
  return out + s.slice(from);
}

const accessTokenStart = paramStart('access_token');
/** `$arg_access_token` as nginx finds it (name case-insensitive). */
const nginxAccessTokenStart = paramStart('access_token', true);

/**
 * The raw access token of a client request: `Authorization: Bearer <token>` when an
 * Authorization header is present, else the percent-decoded `access_token` query parameter —
 * the order Synapse's `Auth.get_access_token_from_request` uses (synapse/api/auth/base.py).
 * The data plane uses it to redact logs and to resolve token → user.
 */
export function accessToken(req: RouteRequest): string | null {
  const auth = headerValue(req, 'authorization');
  if (auth !== null) return bearerToken(auth);
  const q = req.query;
  const at = accessTokenStart(q);
  if (at < 0) return null;
  const end = valueEnd(q, at);
  return end > at ? percentDecode(q.slice(at, end)) : null;
}

/** The token of an `Authorization: Bearer <token>` value (scheme case-insensitive), or null. */
function bearerToken(auth: string): string | null {
  if (auth.length < 8 || !startsWithFolded(auth, 0, 'bearer ')) return null;
  const token = auth.slice(7).trim();
  return token === '' ? null : token;
}

/**
 * Where the localpart field of a Synapse token `syt_<unpadded base64 localpart>_<random>_<crc>`
 * (synapse/handlers/auth.py `generate_access_token`) ends, for a token that starts at `at` of
 * `s`: the index of the `_` that closes a non-empty field before `end`, or -1 when the text
 * there is not of that shape. The one reader of the `syt_` shape; callers slice the field.
 */
function sytFieldEnd(s: string, at: number, end: number): number {
  if (!s.startsWith('syt_', at)) return -1;
  const close = s.indexOf('_', at + 4);
  return close > at + 4 && close < end ? close : -1;
}

/**
 * The localpart field of a `syt_` token, left in its base64 form because that is what the
 * workers.md nginx maps hash; null when `token` is not of that shape.
 */
export function sytLocalpart(token: string): string | null {
  const close = sytFieldEnd(token, 0, token.length);
  return close < 0 ? null : token.slice(4, close);
}

/**
 * The localpart field of a `syt_` token that starts at `at` of `s` and ends before `end`, when
 * no `%` precedes the field's closing `_` (so decoding could not change it); null otherwise (the
 * caller then decodes the token). Reads the field in place: no copy of the token.
 */
function sytFieldAt(s: string, at: number, end: number): string | null {
  const close = sytFieldEnd(s, at, end);
  if (close < 0) return null;
  for (let i = at + 4; i < close; i++) if (s.charCodeAt(i) === 37) return null;
  return s.slice(at + 4, close);
}

/** token_user of a whole token: its syt_ localpart field, else the token itself. */
function userOfToken(token: string | null): string | null {
  return token === null ? null : sytLocalpart(token) ?? token;
}

/**
 * token_user: the syt_ localpart field of the access token, else the whole token (MAS `mat_`,
 * guest macaroons `MDAx…`, appservice tokens); null without a token. DESIGN.md "Key extractors".
 * The token is found once (as accessToken finds it); the usual shapes, `Bearer syt_…` and
 * `access_token=syt_…`, are read in place without copying or decoding the token.
 */
export function tokenUser(req: RouteRequest): string | null {
  const auth = headerValue(req, 'authorization');
  if (auth !== null) {
    if (auth.startsWith('Bearer ')) {
      // Header tokens are not decoded, so the field is read as it stands.
      const close = sytFieldEnd(auth, 7, auth.length);
      if (close >= 0) return auth.slice(11, close);
    }
    return userOfToken(bearerToken(auth));
  }
  const q = req.query;
  const at = accessTokenStart(q);
  if (at < 0) return null;
  const end = valueEnd(q, at);
  const user = sytFieldAt(q, at, end);
  if (user !== null) return user;
  return end > at ? userOfToken(percentDecode(q.slice(at, end))) : null;
}

/**
 * Mirrors the map regex `syt_(?<username>.*?)_.*` (unanchored) on the text `s[from, to)`, read
 * in place: the text after the first `marker` up to the next `_`, or null when either is missing.
 */
function mapUsername(s: string, from: number, to: number, marker: string): string | null {
  const at = s.startsWith(marker, from) ? from : s.indexOf(marker, from); // the usual place first
  if (at < 0) return null;
  const end = s.indexOf('_', at + marker.length);
  return end < 0 || end >= to ? null : s.slice(at + marker.length, end);
}

/**
 * token_user exactly as the workers.md nginx config computes `$mxid_localpart` (section
 * "Load balancing"): a non-empty Authorization header maps through `~Bearer syt_(?<username>.*?)_.*`
 * and otherwise stays whole (so `Bearer mat_x` keys on the whole header value); without the
 * header, `$arg_access_token` (raw, not decoded) maps through `~syt_(?<username>.*?)_.*`.
 */
export function nginxTokenUser(req: RouteRequest): string | null {
  const auth = headerValue(req, 'authorization');
  if (auth !== null) {
    const user = mapUsername(auth, 0, auth.length, 'Bearer syt_');
    return user === null ? auth : user || null;
  }
  const q = req.query;
  const at = nginxAccessTokenStart(q);
  if (at < 0) return null;
  const end = valueEnd(q, at);
  if (end === at) return null;
  const user = mapUsername(q, at, end, 'syt_');
  return user === null ? q.slice(at, end) : user || null;
}

/**
 * room_id: the path segment after `/rooms/`, percent-decoded so that `!a:b` and `%21a%3Ab` key
 * alike (client-server API paths `/rooms/{roomId}/…`; room versions 12+ use domainless IDs,
 * `!` + 43 unpadded base64url characters, which need no special case). Null elsewhere.
 */
export function roomId(req: RouteRequest): string | null {
  const p = req.path;
  const at = p.indexOf('/rooms/');
  if (at < 0) return null;
  const start = at + 7;
  let end = p.indexOf('/', start);
  if (end < 0) end = p.length;
  return end > start ? percentDecode(p.slice(start, end)) : null;
}

/**
 * source_ip: the socket peer, or — only when that peer is a trusted proxy — the rightmost
 * X-Forwarded-For address that is not itself trusted (every hop to its right was appended by a
 * proxy we trust; anything further left is client-controlled). All hops trusted: the leftmost.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is reported as plain IPv4.
 */
export function clientIp(req: RouteRequest, trusted: CidrSet): string {
  const peer = normalizeIp(req.sourceIp);
  if (trusted.size === 0 || !trusted.has(peer)) return peer;
  const xff = headerValue(req, 'x-forwarded-for');
  if (xff === null) return peer;
  let client = peer;
  for (let end = xff.length; end >= 0;) {
    const comma = end === 0 ? -1 : xff.lastIndexOf(',', end - 1);
    const entry = xff.slice(comma + 1, end).trim();
    end = comma;
    if (entry === '') continue;
    client = normalizeIp(stripPort(entry));
    if (!trusted.has(client)) return client;
  }
  return client;
}

const isOws = (c: number): boolean => c === 32 || c === 9;

/** Reads a quoted-string starting at the opening quote; backslash escapes are removed. */
function readQuoted(h: string, i: number): [string, number] {
  let out = '';
  let from = ++i;
  for (; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c === 34) return [out + h.slice(from, i), i + 1];
    if (c === 92) {
      out += h.slice(from, i);
      from = ++i;
    }
  }
  return [out + h.slice(from), i];
}

/**
 * The `origin` parameter of `Authorization: X-Matrix …` (server-server API "Request
 * Authentication": scheme then a comma-separated list of name=value params, names
 * case-insensitive, any order, values quoted or bare tokens — bare ones may contain colons —
 * with optional spaces/tabs around commas per RFC 9110 §11.4). Null when absent or malformed.
 */
export function xMatrixOrigin(h: string): string | null {
  if (h.length < 10 || !startsWithFolded(h, 0, 'x-matrix') || !isOws(h.charCodeAt(8))) return null;
  let i = 9;
  while (i < h.length) {
    while (i < h.length && (isOws(h.charCodeAt(i)) || h.charCodeAt(i) === 44)) i++;
    const nameStart = i;
    while (i < h.length && h.charCodeAt(i) !== 61 && h.charCodeAt(i) !== 44 && !isOws(h.charCodeAt(i))) i++;
    const nameEnd = i;
    while (i < h.length && isOws(h.charCodeAt(i))) i++;
    if (h.charCodeAt(i) !== 61) continue;
    i++;
    while (i < h.length && isOws(h.charCodeAt(i))) i++;
    let value: string;
    if (h.charCodeAt(i) === 34) {
      [value, i] = readQuoted(h, i);
    } else {
      const valueStart = i;
      while (i < h.length && h.charCodeAt(i) !== 44 && !isOws(h.charCodeAt(i))) i++;
      value = h.slice(valueStart, i);
    }
    if (nameEnd - nameStart === 6 && startsWithFolded(h, nameStart, 'origin')) return value || null;
  }
  return null;
}

/** federation_origin: the X-Matrix `origin` (one remote server may send from many IPs), else the client IP. */
export function federationOrigin(req: RouteRequest, trusted: CidrSet): string {
  const auth = headerValue(req, 'authorization');
  return (auth !== null ? xMatrixOrigin(auth) : null) ?? clientIp(req, trusted);
}

/** The value of cookie `name` from the Cookie header (RFC 6265 §5.4 `name=value; …`), raw; null when absent. */
export function cookieValue(req: RouteRequest, name: string, ignoreCase = false): string | null {
  const header = headerValue(req, 'cookie');
  if (header === null) return null;
  let start = 0;
  while (start < header.length) {
    while (header.charCodeAt(start) === 32) start++;
    let semi = header.indexOf(';', start);
    if (semi < 0) semi = header.length;
    if (header.charCodeAt(start + name.length) === 61 && semi - start > name.length
      && (ignoreCase ? startsWithFolded(header, start, name) : header.startsWith(name, start))) {
      return header.slice(start + name.length + 1, semi).trim() || null;
    }
    start = semi + 1;
  }
  return null;
}

function queryExtractor(name: string, nginx: boolean): KeyExtractor {
  if (nginx) {
    const lower = name.toLowerCase();
    const find = queryParamFinder(lower, true);
    return (req) => find(req.query) || null;
  }
  const find = queryParamFinder(name);
  return (req) => {
    const v = find(req.query);
    return v ? percentDecode(v) : null;
  };
}

/**
 * Lower-case names of the request headers the extractor for `spec` reads: token and origin
 * keys read Authorization, client addresses X-Forwarded-For (behind trusted proxies); no key
 * reads none. The data
 * plane keeps only the headers some extractor, condition or denial reads (RoutingTable.headerNames).
 */
export function keyHeaderNames(spec: KeySpec | null): string[] {
  if (spec === null) return [];
  if (typeof spec === 'string') {
    switch (spec) {
      case 'token_user': return ['authorization'];
      case 'federation_origin': return ['authorization', 'x-forwarded-for'];
      case 'source_ip': return ['x-forwarded-for'];
      case 'room_id':
      case 'path': return [];
    }
  }
  if ('header' in spec) return [spec.header.toLowerCase()];
  return 'cookie' in spec ? ['cookie'] : [];
}

/**
 * Builds the extractor for one routes.yaml `key`. Trusted proxies are parsed here, once, so a
 * bad CIDR fails at load time with the CIDR named.
 */
export function createKeyExtractor(spec: KeySpec, opts: KeyOptions): KeyExtractor {
  const nginx = opts.nginxCompat === true;
  if (typeof spec === 'string') {
    switch (spec) {
      case 'token_user': return nginx ? nginxTokenUser : tokenUser;
      case 'room_id': return roomId;
      case 'path': return (req) => req.path || null;
      case 'source_ip': {
        const trusted = new CidrSet(opts.trustedProxies);
        return (req) => clientIp(req, trusted);
      }
      case 'federation_origin': {
        const trusted = new CidrSet(opts.trustedProxies);
        return (req) => federationOrigin(req, trusted);
      }
    }
  }
  if ('header' in spec) {
    const name = spec.header.toLowerCase();
    return (req) => headerValue(req, name);
  }
  if ('query' in spec) return queryExtractor(spec.query, nginx);
  const cookie = nginx ? spec.cookie.toLowerCase() : spec.cookie;
  return (req) => cookieValue(req, cookie, nginx);
}
