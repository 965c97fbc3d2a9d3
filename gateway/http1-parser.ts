/**
 * A minimal HTTP/1.1 *response* parser for upstream connections (RFC 9112 sections 4-7): status
 * line, header fields as a flat raw array (the shape `res.writeHead` accepts), and message framing
 * by Content-Length, chunked transfer coding or connection close. It decodes chunked bodies so
 * the client side can re-frame them, and hands body bytes out as zero-copy slices.
 *
 * Why not llhttp: node:http's client (`http.Agent`) costs ~4x nginx per request on this hot path
 * (see test/bench/PROXY-CANDIDATES.md); the upstream side only ever parses responses from our
 * own workers, which this small state machine covers. Body slices handed to `onBody` are views
 * of the caller's buffer, valid only during the call.
 */

/** Receives the parsed parts of one response, in order. */
export interface ResponseSink {
  /** Called once per final (non-1xx) response head. `headers` is [name, value, name, value, ...]. */
  onHead(status: number, headers: string[]): void;
  onBody(chunk: Buffer): void;
  /** The response is complete; `keepAlive` tells whether the connection may carry another exchange. */
  onComplete(keepAlive: boolean): void;
}

import { HEADER_LINE } from './http1-request.ts';

type State = 'head' | 'length' | 'chunk_size' | 'chunk_data' | 'chunk_crlf' | 'trailers' | 'close' | 'done';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;

/** Thrown (as a value) for a response the parser cannot frame safely. */
export class ParseError extends Error {}

/** Parses a stream of responses on one connection; reset() before each request. */
export class ResponseParser {
  private state: State = 'done';
  private pending: Buffer | null = null;
  private remaining = 0;
  private keepAlive = true;
  private noBody = false;
  private sink: ResponseSink | null = null;

  /** Prepares for the response to one request. `headRequest`: the response carries no body. */
  reset(sink: ResponseSink, headRequest: boolean): void {
    this.state = 'head';
    this.pending = null;
    this.remaining = 0;
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
        case 'length': off = this.bodyLength(buf, off); break;
        case 'chunk_size': off = this.chunkSize(buf, off); break;
        case 'chunk_data': off = this.chunkData(buf, off); break;
        case 'chunk_crlf': off = this.chunkCrlf(buf, off); break;
        case 'trailers': off = this.trailers(buf, off); break;
        case 'close': this.sink!.onBody(off === 0 ? buf : buf.subarray(off)); off = buf.length; break;
        case 'done': throw new ParseError('upstream sent bytes after the response');
      }
      if (off < 0) return; // needs more bytes; pending holds them
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
    const lines = buf.toString('latin1', off, end).split('\r\n');
    const status = parseStatusLine(lines[0]!);
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      // Validated like request fields: a bare LF or control byte would otherwise reach the client.
      if (!HEADER_LINE.test(line)) throw new ParseError('malformed upstream header line');
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      headers.push(name, value);
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = parseLength(value, length);
      else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(value);
      else if (name.length === 10 && name.toLowerCase() === 'connection' && /close/i.test(value)) this.keepAlive = false;
    }
    off = end + 4;
    if (status < 200 && status !== 101) return off; // interim response: wait for the final one
    this.sink!.onHead(status, headers);
    this.frame(status, length, chunked);
    return off;
  }

  private frame(status: number, length: number, chunked: boolean): void {
    if (this.noBody || status === 204 || status === 304 || status === 101) return this.finish(status !== 101);
    if (chunked) { this.state = 'chunk_size'; return; }
    if (length >= 0) {
      if (length === 0) return this.finish(true);
      this.remaining = length;
      this.state = 'length';
      return;
    }
    this.keepAlive = false;
    this.state = 'close';
  }

  private bodyLength(buf: Buffer, off: number): number {
    const take = Math.min(this.remaining, buf.length - off);
    this.sink!.onBody(off === 0 && take === buf.length ? buf : buf.subarray(off, off + take));
    this.remaining -= take;
    if (this.remaining === 0) this.finish(true);
    return off + take;
  }

  private chunkSize(buf: Buffer, off: number): number {
    const nl = buf.indexOf(10, off);
    if (nl < 0) return this.keep(buf, off, MAX_CHUNK_LINE, 'chunk size line too long');
    const line = buf.toString('latin1', off, nl);
    const m = /^([0-9a-fA-F]{1,15})[ \t]*(;[^\r]*)?\r?$/.exec(line);
    if (!m) throw new ParseError('malformed chunk size');
    this.remaining = parseInt(m[1]!, 16);
    this.state = this.remaining === 0 ? 'trailers' : 'chunk_data';
    return nl + 1;
  }

  private chunkData(buf: Buffer, off: number): number {
    const take = Math.min(this.remaining, buf.length - off);
    this.sink!.onBody(buf.subarray(off, off + take));
    this.remaining -= take;
    if (this.remaining === 0) this.state = 'chunk_crlf';
    return off + take;
  }

  private chunkCrlf(buf: Buffer, off: number): number {
    const nl = buf.indexOf(10, off);
    if (nl < 0) return this.keep(buf, off, 2, 'missing CRLF after chunk');
    if (nl - off > 1) throw new ParseError('missing CRLF after chunk');
    this.state = 'chunk_size';
    return nl + 1;
  }

  private trailers(buf: Buffer, off: number): number {
    // Trailer fields are dropped (RFC 9110 section 6.5.1: a proxy may discard them).
    const nl = buf.indexOf(10, off);
    if (nl < 0) return this.keep(buf, off, MAX_CHUNK_LINE, 'trailer line too long');
    const blank = nl === off || (nl === off + 1 && buf[off] === 13);
    if (blank) this.finish(true);
    return nl + 1;
  }

  private keep(buf: Buffer, off: number, max: number, why: string): number {
    if (buf.length - off > max) throw new ParseError(why);
    this.pending = Buffer.from(buf.subarray(off)); // copied: the read buffer is reused
    return -1;
  }
}

function parseStatusLine(line: string): number {
  if (!line.startsWith('HTTP/1.')) throw new ParseError('malformed upstream status line');
  const status = Number(line.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new ParseError('malformed upstream status code');
  return status;
}

function parseLength(value: string, previous: number): number {
  if (!/^\d{1,15}$/.test(value)) throw new ParseError('malformed upstream Content-Length');
  const n = Number(value);
  if (previous >= 0 && previous !== n) throw new ParseError('conflicting upstream Content-Length');
  return n;
}
