/**
 * A minimal HTTP/1.1 *response* parser for upstream connections (RFC 9112 sections 4-7): status
 * line, header fields, and message framing by Content-Length, chunked transfer coding or
 * connection close. The head is scanned as bytes (every field line validated: token name, no
 * control bytes but HTAB in the value, CRLF endings) and handed on as one copied byte range with
 * the ranges of its hop-by-hop lines, so the client side can forward it without building a string
 * per field. It decodes chunked bodies so the client side can re-frame them (gateway/body-framing.ts,
 * the decoder the request side uses too), and hands body bytes out as zero-copy slices.
 *
 * Why not llhttp: node:http's client (`http.Agent`) costs ~4x nginx per request on this hot path
 * (see test/bench/PROXY-CANDIDATES.md); the upstream side only ever parses responses from our
 * own workers, which this small state machine covers. Body slices handed to `onBody` are views
 * of the caller's buffer, valid only during the call.
 */
import { BodyFraming, type FramingFault, type FramingRules } from './body-framing.ts';
import { CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, CONNECTION_NAMES, DROP_RESPONSE, readConnection } from './headers.ts';
import { fieldList } from './http1-request.ts';

/** The head of one upstream response, as bytes. */
export class ResponseHead {
  /** Status line and field lines, each ending in CRLF (a copy: the read buffer is reused). */
  readonly bytes: Buffer;
  /** [from, to) byte ranges of hop-by-hop field lines (RFC 9110 section 7.6.1), or null. */
  readonly drops: number[] | null;
  /** The response carries Content-Length. */
  readonly hasLength: boolean;
  /** `Connection` names further fields to drop: forward through fields() and a filter instead. */
  readonly namesMore: boolean;

  constructor(bytes: Buffer, drops: number[] | null, hasLength: boolean, namesMore: boolean) {
    this.bytes = bytes;
    this.drops = drops;
    this.hasLength = hasLength;
    this.namesMore = namesMore;
  }

  /** Every field as [name, value, name, value, ...] (the slow paths: drift checks, filters, tests). */
  fields(): string[] {
    return fieldList(this.bytes.toString('latin1', 0, this.bytes.length - 2));
  }
}

/** Receives the parsed parts of one response, in order. */
export interface ResponseSink {
  /** Called once per final (non-1xx) response head. */
  onHead(status: number, head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The response is complete; `keepAlive` tells whether the connection may carry another exchange. */
  onComplete(keepAlive: boolean): void;
}

type State = 'head' | 'body' | 'close' | 'done';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const HTTP1 = Buffer.from('HTTP/1.');
const MAX_HEAD = 64 * 1024;

/** Thrown (as a value) for a response the parser cannot frame safely. */
export class ParseError extends Error {}

/** Refusals of a response body's chunked framing, as ParseError messages. */
const RESPONSE_FAULTS: Record<FramingFault, string> = {
  'size line too long': 'chunk size line too long',
  'chunk end too long': 'missing CRLF after chunk',
  'trailer too long': 'trailer line too long',
  'malformed size': 'malformed chunk size',
  'malformed chunk end': 'missing CRLF after chunk',
  // Not raised under the lenient rules below.
  'no CRLF': 'chunk line without CRLF',
  'malformed trailer': 'malformed trailer field',
};

/**
 * Response bodies are read leniently (see FramingRules: bare LF accepted, trailer fields skipped
 * unread): they come from our own workers, and the client side re-frames them anyway.
 */
const RESPONSE_FRAMING: FramingRules = {
  strict: false,
  trailerField: null,
  fail: (fault) => new ParseError(RESPONSE_FAULTS[fault]),
};

/** Parses a stream of responses on one connection; reset() before each request. */
export class ResponseParser {
  private state: State = 'done';
  private pending: Buffer | null = null;
  private keepAlive = true;
  private noBody = false;
  private sink: ResponseSink | null = null;
  private readonly body = new BodyFraming(RESPONSE_FRAMING);
  /** Hands decoded body bytes to the current sink (one function per parser, not one per read). */
  private readonly onBody = (chunk: Buffer): void => this.sink!.onBody(chunk);

  /** Prepares for the response to one request. `headRequest`: the response carries no body. */
  reset(sink: ResponseSink, headRequest: boolean): void {
    this.state = 'head';
    this.pending = null;
    this.keepAlive = true;
    this.noBody = headRequest;
    this.sink = sink;
  }

  /** True once a head was parsed (bytes reached the client side). */
  get started(): boolean {
    return this.state !== 'head';
  }

  /** True while a close-delimited body is being read (EOF completes it). */
  get readingUntilClose(): boolean {
    return this.state === 'close';
  }

  /** Feeds bytes; throws ParseError on a malformed response or bytes after its end. */
  execute(buf: Buffer): void {
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = null;
    }
    let off = 0;
    while (off < buf.length) {
      switch (this.state) {
        case 'head': off = this.parseHead(buf, off); break;
        case 'body':
          off = this.body.feed(buf, off, this.onBody);
          if (this.body.done) this.finish(true);
          break;
        case 'close': this.sink!.onBody(off === 0 ? buf : buf.subarray(off)); off = buf.length; break;
        case 'done': throw new ParseError('upstream sent bytes after the response');
      }
      if (off < 0) return; // needs more head bytes; pending holds them
    }
  }

  /** The upstream closed the connection. Completes a close-delimited body; otherwise an error. */
  eof(): void {
    if (this.state === 'close') return this.finish(false);
    if (this.state !== 'done') throw new ParseError('upstream closed the connection mid-response');
  }

  private finish(keepAlive: boolean): void {
    this.state = 'done';
    const sink = this.sink!;
    this.sink = null;
    sink.onComplete(keepAlive && this.keepAlive);
  }

  private parseHead(buf: Buffer, off: number): number {
    const end = buf.indexOf(CRLFCRLF, off);
    if (end < 0) {
      if (buf.length - off > MAX_HEAD) throw new ParseError('upstream response head too large');
      this.pending = Buffer.from(buf.subarray(off)); // copied: the read buffer is reused
      return -1;
    }
    // The complete head too: else the same head passes or fails depending on how TCP split it.
    if (end + 4 - off > MAX_HEAD) throw new ParseError('upstream response head too large');
    const status = parseStatusLine(buf, off);
    const fieldsStart = lineEnd(buf, off + 12, end + 2) + 2;
    const f: HeadFacts = { length: -1, chunked: false, coded: false, keepAlive: false, drops: null, namesMore: false };
    for (let line = fieldsStart; line < end + 2;) line = this.field(buf, line, off, f);
    if (status < 200 && status !== 101) return end + 4; // interim response: wait for the final one
    // RFC 9112 section 6.3: Transfer-Encoding with Content-Length may be response splitting; refused
    // (502 like any malformed response, and the connection is closed) rather than reframed.
    if (f.coded && f.length >= 0) throw new ParseError('upstream response has both Transfer-Encoding and Content-Length');
    if (buf[off + 7] === 48) this.http10(f);
    const bytes = Buffer.from(buf.subarray(off, end + 2));
    this.sink!.onHead(status, new ResponseHead(bytes, f.drops, f.length >= 0, f.namesMore));
    this.frame(status, f.length, f.chunked);
    return end + 4;
  }

  /** Validates the field line at `line`, notes framing facts and hop-by-hop lines; returns the next line's offset. */
  private field(buf: Buffer, line: number, base: number, f: HeadFacts): number {
    let i = line;
    while (TCHAR[buf[i]!] === 1) i++;
    if (i === line || buf[i] !== 58) throw new ParseError('malformed upstream header line');
    const eol = lineEnd(buf, i + 1, buf.length);
    const kind = fieldKind(buf, line, i - line);
    if (kind === FieldKind.Other) return eol + 2;
    if (kind === FieldKind.ContentLength) {
      f.length = lengthValue(buf, i + 1, eol, f.length);
      return eol + 2;
    }
    (f.drops ??= []).push(line - base, eol + 2 - base);
    const value = buf.toString('latin1', i + 1, eol).trim();
    if (kind === FieldKind.TransferEncoding) {
      f.coded = true;
      f.chunked = /(^|,)\s*chunked\s*$/i.test(value);
    } else if (kind === FieldKind.Connection) this.connection(value, f);
    return eol + 2;
  }

  private connection(value: string, f: HeadFacts): void {
    const bits = readConnection(value, null);
    if ((bits & CONNECTION_CLOSE) !== 0) this.keepAlive = false;
    if ((bits & CONNECTION_KEEP_ALIVE) !== 0) f.keepAlive = true;
    if ((bits & CONNECTION_NAMES) !== 0) f.namesMore = true;
  }

  /**
   * An HTTP/1.0 response keeps the connection only with `Connection: keep-alive` (RFC 9112 section
   * 9.3), and never after a Transfer-Encoding, which 1.0 does not have: its framing is treated as
   * faulty and the connection closed after the message (RFC 9112 section 6.1).
   */
  private http10(f: HeadFacts): void {
    if (!f.keepAlive || f.coded) this.keepAlive = false;
  }

  private frame(status: number, length: number, chunked: boolean): void {
    if (this.noBody || status === 204 || status === 304 || status === 101) return this.finish(status !== 101);
    if (!chunked && length < 0) {
      this.keepAlive = false;
      this.state = 'close';
      return;
    }
    this.body.start(length, chunked);
    if (this.body.done) return this.finish(true); // Content-Length: 0
    this.state = 'body';
  }
}

/** Framing facts collected from the field lines of one head. */
interface HeadFacts {
  length: number;
  chunked: boolean;
  /** A Transfer-Encoding field was present (chunked or not). */
  coded: boolean;
  /** `Connection` listed keep-alive (what keeps an HTTP/1.0 response's connection). */
  keepAlive: boolean;
  drops: number[] | null;
  namesMore: boolean;
}

/** tchar (RFC 9110 section 5.6.2) as a byte table. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/** Fields the parser looks at (the others are forwarded untouched). */
const FieldKind = { Other: 0, ContentLength: 1, TransferEncoding: 2, Connection: 3, HopByHop: 4 } as const;
type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

/**
 * Lower-case names with their kinds, by length: Content-Length, and the hop-by-hop fields the
 * proxy drops from responses (headers.ts DROP_RESPONSE, the one list both response paths use).
 */
const NAMED: ReadonlyMap<number, readonly (readonly [string, FieldKind])[]> = (() => {
  const special: Record<string, FieldKind> = { 'transfer-encoding': FieldKind.TransferEncoding, connection: FieldKind.Connection };
  const byLength = new Map<number, [string, FieldKind][]>([[14, [['content-length', FieldKind.ContentLength]]]]);
  for (const name of DROP_RESPONSE) {
    const list = byLength.get(name.length) ?? [];
    list.push([name, special[name] ?? FieldKind.HopByHop]);
    byLength.set(name.length, list);
  }
  return byLength;
})();

/** The kind of the field whose (token) name is `buf[at, at+len)`, compared case-insensitively. */
function fieldKind(buf: Buffer, at: number, len: number): FieldKind {
  const candidates = NAMED.get(len);
  if (candidates === undefined) return FieldKind.Other;
  for (const [name, kind] of candidates) {
    let k = 0;
    // `| 0x20` lower-cases letters; the other tchars it could map onto '-' or a letter are not tchars.
    while (k < len && (buf[at + k]! | 0x20) === name.charCodeAt(k)) k++;
    if (k === len) return kind;
  }
  return FieldKind.Other;
}

/** Offset of the CR ending the line whose bytes start at `from`; throws on control bytes or a bare CR/LF. */
function lineEnd(buf: Buffer, from: number, limit: number): number {
  for (let i = from; i < limit; i++) {
    const c = buf[i]!;
    if (c >= 32 && c !== 127) continue;
    if (c === 9) continue;
    if (c === 13 && buf[i + 1] === 10) return i;
    break;
  }
  throw new ParseError('malformed upstream header line');
}

/** Status code of the status line at `off` (`HTTP/1.x NNN ...`). */
function parseStatusLine(buf: Buffer, off: number): number {
  const minor = buf[off + 7]! - 48;
  if (HTTP1.compare(buf, off, off + 7) !== 0 || minor < 0 || minor > 9 || buf[off + 8] !== 32) throw new ParseError('malformed upstream status line');
  const d1 = buf[off + 9]! - 48, d2 = buf[off + 10]! - 48, d3 = buf[off + 11]! - 48;
  const next = buf[off + 12];
  if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9 || (next !== 32 && next !== 13)) throw new ParseError('malformed upstream status code');
  return d1 * 100 + d2 * 10 + d3;
}

/** The Content-Length value in `buf[from, to)` (OWS around 1-15 digits); equal duplicates only. */
function lengthValue(buf: Buffer, from: number, to: number, previous: number): number {
  while (from < to && (buf[from] === 32 || buf[from] === 9)) from++;
  while (to > from && (buf[to - 1] === 32 || buf[to - 1] === 9)) to--;
  if (to === from || to - from > 15) throw new ParseError('malformed upstream Content-Length');
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) throw new ParseError('malformed upstream Content-Length');
    n = n * 10 + d;
  }
  if (previous >= 0 && previous !== n) throw new ParseError('conflicting upstream Content-Length');
  return n;
}
