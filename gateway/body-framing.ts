/**
 * Message body framing for the gateway's HTTP/1.1 data plane (RFC 9112 sections 6.3 and 7.1): one
 * decoder, used by the request side (gateway/http1-request.ts, bodies from clients) and the
 * response side (gateway/http1-parser.ts, bodies from upstreams), that counts down a
 * Content-Length or decodes chunked coding and hands the data out as slices of the input buffer;
 * and the chunk framing of bodies the gateway sends chunked (chunkSizeLine, chunkTail), used for
 * responses to clients (gateway/client-message.ts) and request bodies to upstreams
 * (gateway/request-body.ts).
 *
 * The two sides read chunked coding with different strictness on purpose, so each passes its
 * FramingRules: the framing of a request is the framing forwarded, so every ambiguity is refused
 * (request smuggling, RFC 9112 section 11.2); a response comes from our own workers and is read
 * leniently. Each side turns a refusal into its own error type and message.
 */

/** What a decoder refuses in a chunked body; each side maps it to its own error and message. */
export type FramingFault =
  | 'size line too long' | 'chunk end too long' | 'trailer too long'
  | 'no CRLF' | 'malformed size' | 'malformed chunk end' | 'malformed trailer';

/** How one side reads chunked coding (the two sides' semantics differ; see the module comment). */
export interface FramingRules {
  /**
   * true (requests): every line must end in CRLF, and a chunk extension holds only field-value
   * bytes (HTAB, SP, visible, obs-text). false (responses): a bare LF also ends a line (RFC 9112
   * section 2.2), so a chunk's data ends in CRLF or a bare LF (RFC 9112 section 7.1), and an
   * extension may hold any byte but CR. Under both, a chunk-size or trailer line longer than
   * MAX_LINE (with its line ending) is refused whether or not it arrived in one read.
   */
  readonly strict: boolean;
  /** Every trailer field line (without its line ending) must match this; null: trailers are skipped unread. */
  readonly trailerField: RegExp | null;
  /** The error to throw for `fault`. */
  readonly fail: (fault: FramingFault) => Error;
}

/** The line before `size` bytes of chunk data (RFC 9112 section 7.1): the size in hex, CRLF. */
export function chunkSizeLine(size: number): string {
  return size.toString(16) + '\r\n';
}

/** The CRLF that ends a chunk's data. */
export const CHUNK_END = '\r\n';
/** The last chunk and the empty trailer section: the end of a chunked body. */
export const LAST_CHUNK = '0\r\n\r\n';
const CHUNK_END_LAST = CHUNK_END + LAST_CHUNK;

/**
 * What goes after a write of chunk data: the CRLF ending the chunk when `afterData`, then, when
 * `last`, the last chunk and the empty trailer section that end the body (RFC 9112 section 7.1).
 * One of four constant strings: nothing is built per write.
 */
export function chunkTail(afterData: boolean, last: boolean): string {
  if (afterData) return last ? CHUNK_END_LAST : CHUNK_END;
  return last ? LAST_CHUNK : '';
}

type State = 'length' | 'size' | 'data' | 'data_crlf' | 'trailers' | 'done';

/** Longest chunk-size or trailer line, in bytes. */
const MAX_LINE = 4096;
/** A chunk-size line up to its LF (RFC 9112 section 7.1): with its CR (strict), or an optional one (lenient). */
const STRICT_SIZE = /^([0-9a-fA-F]{1,15})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?\r$/;
const LENIENT_SIZE = /^([0-9a-fA-F]{1,15})[ \t]*(;[^\r]*)?\r?$/;

/**
 * Decodes one message body at a time from a connection's bytes: a Content-Length countdown, or
 * chunked coding (chunk extensions ignored, trailer fields dropped: RFC 9110 section 6.5.1 lets a
 * proxy discard them). Decoded data goes to `onData` as slices of the input buffer, valid only
 * during the call. A line split across reads is carried over as a copy of its first part.
 */
export class BodyFraming {
  private readonly rules: FramingRules;
  private state: State = 'done';
  private remaining = 0;
  /** The start of a chunk line whose LF has not arrived yet (copied: read buffers are reused). */
  private partial: Buffer | null = null;

  constructor(rules: FramingRules, contentLength = -1, chunked = false) {
    this.rules = rules;
    this.start(contentLength, chunked);
  }

  /** Starts the next body: chunked, or `contentLength` bytes (0 or -1: there is none). */
  start(contentLength: number, chunked: boolean): void {
    this.state = chunked ? 'size' : contentLength > 0 ? 'length' : 'done';
    this.remaining = chunked ? 0 : contentLength;
    this.partial = null;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** A Content-Length body with at most `limit` bytes left: cheap to read and drop. */
  droppable(limit: number): boolean {
    return this.state === 'length' && this.remaining <= limit;
  }

  /** Consumes bytes from `off`; returns the offset after the body (or buf.length). Throws the rules' errors. */
  feed(buf: Buffer, off: number, onData: (chunk: Buffer) => void): number {
    while (off < buf.length && this.state !== 'done') {
      if (this.state === 'length' || this.state === 'data') {
        const take = Math.min(this.remaining, buf.length - off);
        onData(off === 0 && take === buf.length ? buf : buf.subarray(off, off + take));
        this.remaining -= take;
        off += take;
        if (this.remaining === 0) this.state = this.state === 'length' ? 'done' : 'data_crlf';
        continue;
      }
      const nl = buf.indexOf(10, off);
      if (nl < 0) return this.carry(buf, off);
      if (this.partial === null) {
        this.line(buf, off, nl);
      } else {
        const joined = Buffer.concat([this.partial, buf.subarray(off, nl + 1)]);
        this.partial = null;
        this.line(joined, 0, joined.length - 1);
      }
      off = nl + 1;
    }
    return off;
  }

  /** Keeps the incomplete line at `off` for the next read; returns buf.length. */
  private carry(buf: Buffer, off: number): number {
    const carried = this.partial === null ? 0 : this.partial.length;
    const limit = this.state === 'data_crlf' && !this.rules.strict ? 2 : MAX_LINE;
    if (carried + buf.length - off > limit) throw this.rules.fail(this.tooLong());
    this.partial = carried === 0 ? Buffer.from(buf.subarray(off)) : Buffer.concat([this.partial!, buf.subarray(off)]);
    return buf.length;
  }

  private tooLong(): FramingFault {
    return this.state === 'size' ? 'size line too long' : this.state === 'data_crlf' ? 'chunk end too long' : 'trailer too long';
  }

  /** Handles the complete line `src[from, nl]` (`nl`: the offset of its LF). */
  private line(src: Buffer, from: number, nl: number): void {
    // Complete lines are limited as carry() limits incomplete ones, under both rules: how the reads split a line does not matter.
    if (nl + 1 - from > MAX_LINE) throw this.rules.fail(this.tooLong());
    if (this.rules.strict && (nl === from || src[nl - 1] !== 13)) throw this.rules.fail('no CRLF');
    if (this.state === 'size') return this.sizeLine(src, from, nl);
    if (this.state === 'data_crlf') {
      // CRLF, or (lenient) a bare LF; strict rules checked the CR above.
      if (nl - from > 1 || (nl > from && src[from] !== 13)) throw this.rules.fail('malformed chunk end');
      this.state = 'size';
      return;
    }
    this.trailerLine(src, from, nl);
  }

  private sizeLine(src: Buffer, from: number, nl: number): void {
    const m = (this.rules.strict ? STRICT_SIZE : LENIENT_SIZE).exec(src.toString('latin1', from, nl));
    if (m === null) throw this.rules.fail('malformed size');
    this.remaining = parseInt(m[1]!, 16);
    this.state = this.remaining === 0 ? 'trailers' : 'data';
  }

  private trailerLine(src: Buffer, from: number, nl: number): void {
    if (nl === from || (nl === from + 1 && src[from] === 13)) {
      this.state = 'done'; // the blank line ending the trailer section
      return;
    }
    const field = this.rules.trailerField;
    const end = src[nl - 1] === 13 ? nl - 1 : nl;
    if (field !== null && !field.test(src.toString('latin1', from, end))) throw this.rules.fail('malformed trailer');
  }
}
