/**
 * A strict HTTP/1.1 *request* parser for the gateway's listeners (RFC 9112): request line, header
 * fields, message framing, and the request body decoder (Content-Length or chunked).
 *
 * Why hand-rolled: node:http's server side costs more CPU per request than the whole rest of the
 * proxy (test/bench/PROXY-CANDIDATES.md), and the gateway only needs the request line, a flat
 * header list and the framing facts. Being a proxy, it must be stricter than a plain server: every
 * ambiguity an upstream could read differently is refused (request smuggling, RFC 9112 section
 * 11.2), and the framing decided here is the framing forwarded.
 */

import { BodyFraming, type FramingFault, type FramingRules } from './body-framing.ts';
import { CONNECTION_CLOSE, CONNECTION_END_TO_END, CONNECTION_KEEP_ALIVE, CONNECTION_NAMES, DROP_REQUEST, lowerName, readConnection } from './headers.ts';

/** A request the parser refuses: the status to answer, then the connection is closed. */
export class RequestError extends Error {
  readonly status: 400 | 408 | 431 | 501 | 505;
  constructor(status: 400 | 408 | 431 | 501 | 505, message: string) {
    super(message);
    this.status = status;
  }
}

/** The parsed head of one request. */
export interface RequestHead {
  readonly method: string;
  /**
   * The request target exactly as received; for an absolute-form target (`http://host/path?q`,
   * RFC 9112 section 3.2.2) its origin-form (`/path?q`), which is what is routed and forwarded.
   */
  readonly url: string;
  /** The target was in absolute form: `headers.host` holds its authority, and the head is rebuilt when forwarded. */
  readonly absoluteForm: boolean;
  readonly http10: boolean;
  /**
   * Lower-case names (node:http's IncomingMessage.headers shape) for routing: every field, or
   * only the names in the parser's `wanted` set (the rest stay in `text`, see fieldList).
   */
  readonly headers: Record<string, string>;
  /** -1 when the request has no Content-Length. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** The client allows the connection to carry another request. */
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
  /**
   * `Connection` names further fields to drop (besides close/keep-alive): headers.ts forwards the
   * head field by field instead of as received (the tokens are read once, here).
   */
  readonly namesMore: boolean;
  /** The head as received (request line and fields, without the final CRLFCRLF). */
  readonly text: string;
  /** [from, to) ranges of `text` holding hop-by-hop lines (each with its leading CRLF), or null. */
  readonly drops: number[] | null;
}

/**
 * Request line: token method, one SP, a target of visible bytes but `#` (a target never carries a
 * fragment, RFC 9112 section 3.2), one SP, HTTP/1.x (RFC 9112 section 3).
 */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [\x21\x22\x24-\x7e\x80-\xff]+ HTTP\/\d\.\d$/;
/** field-name ":" OWS field-value OWS, with no control bytes but HTAB (RFC 9110 section 5.5; RFC 9112 section 5.1). */
export const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*$/;
const DIGITS = /^\d{1,15}$/;
/**
 * A Host value: uri-host [":" port] (RFC 9112 section 3.2; RFC 3986 section 3.2.2), where uri-host is
 * an IP literal in brackets or a reg-name (unreserved, pct-encoded and sub-delims; possibly empty).
 */
const HOST_VALUE = /^(?:\[[0-9A-Za-z:._~%!$&'()*+,;=-]+\]|[0-9A-Za-z._~%!$&'()*+,;=-]*)(?::\d*)?$/;

/**
 * The registered methods, each mapped to its own literal: a request's method is then the one
 * shared string, so the router's and the proxy's method comparisons are pointer compares.
 */
const METHODS = new Map(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map((m) => [m, m]));

/** Header names whose duplicates are dropped rather than joined (as node:http does). */
const FIRST_WINS = new Set(['authorization', 'host', 'content-type', 'user-agent', 'referer', 'proxy-authorization']);

/** `value` without leading and trailing SP/HTAB (optional whitespace, RFC 9110 section 5.6.3). */
function trimOws(value: string): string {
  let a = 0;
  let b = value.length;
  while (a < b && (value.charCodeAt(a) === 32 || value.charCodeAt(a) === 9)) a++;
  while (b > a && (value.charCodeAt(b - 1) === 32 || value.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === value.length ? value : value.slice(a, b);
}

/** Framing facts collected while reading the header fields. */
interface Framing {
  drops: number[] | null;
  length: number;
  te: string | null;
  hosts: number;
  /** CONNECTION_* bits of every Connection line (headers.ts readConnection). */
  connection: number;
  expect: string;
}

/**
 * Parses the head in `text` (request line and fields, without the final CRLFCRLF). With `wanted`,
 * `headers` holds only those names (plus nothing else): the fields the router and the proxy read,
 * so a request keeps few objects alive while it is in flight.
 */
export function parseRequestHead(text: string, wanted: ReadonlySet<string> | null = null): RequestHead {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const line = text.slice(0, eol);
  if (!REQUEST_LINE.test(line)) throw new RequestError(400, 'malformed request line');
  const sp1 = line.indexOf(' ');
  const sp2 = line.length - 9;
  const version = line.slice(sp2 + 6);
  if (version !== '1.1' && version !== '1.0') throw new RequestError(505, 'only HTTP/1.0 and HTTP/1.1 are supported');
  const http10 = version === '1.0';
  const headers: Record<string, string> = {};
  const f: Framing = { drops: null, length: -1, te: null, hosts: 0, connection: 0, expect: '' };
  for (let start = eol + 2; start < text.length;) {
    let end = text.indexOf('\r\n', start);
    if (end < 0) end = text.length;
    if (field(text.slice(start, end), wanted, headers, f)) (f.drops ??= []).push(start - 2, end);
    start = end + 2;
  }
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const head = finish(text, METHODS.get(method) ?? method, target, http10, headers, f);
  return target.charCodeAt(0) === 47 ? head : absoluteForm(head, target);
}

/** scheme "://" authority, then the rest of an absolute-form target (RFC 9112 section 3.2.2). */
const ABSOLUTE_TARGET = /^https?:\/\/([^/?]*)(.*)$/i;

/**
 * A server must accept absolute-form targets (RFC 9112 section 3.2.2): the target's authority
 * replaces Host, and the request is routed and forwarded in origin-form, so the path routed is
 * still the path forwarded. Other forms are left as they are (request-checks.ts refuses them).
 */
function absoluteForm(head: RequestHead, target: string): RequestHead {
  const m = ABSOLUTE_TARGET.exec(target);
  if (m === null) return head;
  const authority = m[1]!;
  const rest = m[2]!;
  // userinfo (`user@host`) is deprecated and a phishing vector (RFC 9110 section 4.2.4).
  if (authority === '' || authority.includes('@') || !HOST_VALUE.test(authority)) throw new RequestError(400, 'malformed authority in the request target');
  head.headers['host'] = authority;
  return { ...head, url: rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest, absoluteForm: true };
}

/** Reads one field line; true when it is a hop-by-hop field the proxy does not forward. */
function field(line: string, wanted: ReadonlySet<string> | null, headers: Record<string, string>, f: Framing): boolean {
  // Obsolete line folding (a line starting with SP/HTAB) and whitespace before the colon are
  // refused outright (RFC 9112 sections 5.1 and 5.2): both are classic smuggling vectors.
  if (!HEADER_LINE.test(line)) throw new RequestError(400, 'malformed header field');
  const colon = line.indexOf(':');
  const name = line.slice(0, colon);
  const value = trimOws(line.slice(colon + 1));
  const lc = lowerName(name);
  if (wanted === null || wanted.has(lc)) {
    const prev = headers[lc];
    if (prev === undefined) headers[lc] = value;
    else if (!FIRST_WINS.has(lc)) headers[lc] = prev + ', ' + value;
  }
  switch (lc) {
    case 'content-length': {
      if (!DIGITS.test(value)) throw new RequestError(400, 'malformed Content-Length');
      const n = Number(value);
      // Even equal duplicates are refused (as nginx does): the head is forwarded as received, and
      // RFC 9110 section 8.6 allows only refusing or merging them.
      if (f.length >= 0) throw new RequestError(400, f.length === n ? 'more than one Content-Length field' : 'conflicting Content-Length fields');
      f.length = n;
      break;
    }
    case 'transfer-encoding': f.te = f.te === null ? value : f.te + ',' + value; break;
    case 'host':
      if (!HOST_VALUE.test(value)) throw new RequestError(400, 'malformed Host header');
      f.hosts++;
      break;
    case 'connection': f.connection |= readConnection(value, null); break;
    case 'expect': f.expect = value.toLowerCase(); break;
  }
  return DROP_REQUEST.has(lc);
}

function finish(text: string, method: string, url: string, http10: boolean, headers: Record<string, string>, f: Framing): RequestHead {
  // HTTP/1.0 may omit Host; no version may send two (RFC 9112 section 3.2).
  if (f.hosts > 1 || (!http10 && f.hosts === 0)) throw new RequestError(400, f.hosts === 0 ? 'missing Host header' : 'more than one Host header');
  if ((f.connection & CONNECTION_END_TO_END) !== 0) throw new RequestError(400, 'Connection names Content-Length or Host');
  const chunked = f.te !== null && transferCoding(f.te, http10, f.length);
  const conn = f.connection;
  const keepAlive = http10 ? (conn & CONNECTION_KEEP_ALIVE) !== 0 : (conn & CONNECTION_CLOSE) === 0;
  return {
    method, url, absoluteForm: false, http10, headers, contentLength: chunked ? -1 : f.length, chunked, keepAlive,
    expectContinue: !http10 && f.expect === '100-continue', namesMore: (conn & CONNECTION_NAMES) !== 0, text, drops: f.drops,
  };
}

/** The fields of a parsed head's text as [name, value, name, value, ...], names as sent. */
export function fieldList(text: string): string[] {
  const out: string[] = [];
  let start = text.indexOf('\r\n');
  while (start >= 0) {
    start += 2;
    let end = text.indexOf('\r\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    const colon = line.indexOf(':');
    out.push(line.slice(0, colon), trimOws(line.slice(colon + 1)));
    start = end;
  }
  return out;
}

/**
 * Validates Transfer-Encoding (RFC 9112 section 6.1 and 6.3): with Content-Length, on HTTP/1.0, or
 * without `chunked` as the final coding the framing is ambiguous (400); other codings are not
 * implemented (501). Returns true (chunked).
 */
function transferCoding(te: string, http10: boolean, length: number): true {
  if (length >= 0) throw new RequestError(400, 'both Content-Length and Transfer-Encoding');
  if (http10) throw new RequestError(400, 'Transfer-Encoding on HTTP/1.0');
  const codings = te.split(',').map((c) => trimOws(c).toLowerCase()).filter((c) => c !== '');
  if (codings[codings.length - 1] !== 'chunked') throw new RequestError(400, 'chunked is not the final transfer coding');
  if (codings.length > 1) throw new RequestError(501, 'unsupported transfer coding');
  return true;
}

/** Refusals of a request body's framing, as the answers the client gets (all 400). */
const REQUEST_FAULTS: Record<FramingFault, string> = {
  'size line too long': 'chunk line too long',
  'chunk end too long': 'chunk line too long',
  'trailer too long': 'chunk line too long',
  'no CRLF': 'chunked body line without CRLF',
  'malformed size': 'malformed chunk size',
  'malformed chunk end': 'missing CRLF after a chunk',
  'malformed trailer': 'malformed trailer field',
};

/** Request bodies are read strictly (see FramingRules): the framing read here is the framing forwarded. */
const REQUEST_FRAMING: FramingRules = {
  strict: true,
  trailerField: HEADER_LINE,
  fail: (fault) => new RequestError(400, REQUEST_FAULTS[fault]),
};

/**
 * Decodes one request body from the connection's bytes: counts down a Content-Length, or decodes
 * chunked coding (chunk extensions ignored, trailers dropped: RFC 9112 section 7.1). Every line
 * must end in CRLF. Decoded data goes to `onData` as slices of the input buffer; a refused body
 * throws RequestError (400). The decoding itself is gateway/body-framing.ts, shared with the
 * response parser.
 */
export class BodyDecoder extends BodyFraming {
  constructor(contentLength: number, chunked: boolean) {
    super(REQUEST_FRAMING, contentLength, chunked);
  }
}
