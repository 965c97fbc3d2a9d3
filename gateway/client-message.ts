/**
 * The client side of one request on a gateway listener (gateway/http1-server.ts): the parsed
 * request with its body as a pausable flow of buffers, and the response writer. The response
 * head is held until the first body bytes (or the end), so a response that arrives whole from
 * the upstream leaves in one socket write.
 */
import { STATUS_CODES } from 'node:http';
import { chunkSizeLine, chunkTail } from './body-framing.ts';
import { fieldList, type RequestHead } from './http1-request.ts';
import { lowerName } from './headers.ts';
import type { ResponseHead } from './http1-parser.ts';

/** What a request's connection does for it (implemented by ClientConnection). */
export interface ClientChannel {
  readonly remoteAddress: string;
  write(data: Buffer | string): boolean;
  pauseReading(): void;
  resumeReading(): void;
  onceDrain(cb: () => void): void;
  readonly closed: boolean;
  destroy(): void;
  responseDone(res: ClientResponse): void;
}

/** Receives the request body. */
export interface BodySink {
  onData(chunk: Buffer): void;
  onEnd(): void;
}

/** Body bytes queued before a consumer is attached are capped here; then reading pauses. */
const QUEUE_HIGH_WATER = 64 * 1024;

/** One request as the proxy sees it: the parsed head plus the body flow. */
export class ClientRequest {
  readonly head: RequestHead;
  readonly remoteAddress: string;
  /** Every body byte has been received (true at once when there is no body). */
  complete: boolean;
  private readonly channel: ClientChannel;
  private sink: BodySink | null = null;
  private queue: Buffer[] | null = [];
  private queued = 0;
  private paused = false;

  constructor(head: RequestHead, channel: ClientChannel) {
    this.head = head;
    this.remoteAddress = channel.remoteAddress;
    this.complete = !head.chunked && head.contentLength <= 0;
    this.channel = channel;
  }

  /** Every field as [name, value, ...], names as sent (computed from the head text on demand). */
  get rawHeaders(): string[] {
    return fieldList(this.head.text);
  }

  /** Body bytes from the connection. */
  push(chunk: Buffer): void {
    if (this.sink !== null) return this.sink.onData(chunk);
    if (this.queue === null) return; // discarded
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued > QUEUE_HIGH_WATER) this.pause();
  }

  /** The body's last byte arrived. */
  end(): void {
    this.complete = true;
    this.sink?.onEnd();
  }

  /** Attaches the consumer; bytes queued so far are delivered at once, synchronously. */
  read(sink: BodySink): void {
    this.sink = sink;
    const queue = this.queue ?? [];
    this.queue = null;
    this.queued = 0;
    for (const c of queue) sink.onData(c);
    if (this.complete) sink.onEnd();
    else this.resume();
  }

  /** Drops the rest of the body (the exchange ended before consuming it). */
  discard(): void {
    this.sink = null;
    this.queue = null;
    this.resume();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.channel.pauseReading();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.channel.resumeReading();
  }
}

/** How the response body is framed towards the client. */
type Framing = 'none' | 'length' | 'chunked' | 'close';

/** The response writer of one request. */
export class ClientResponse {
  readonly req: ClientRequest;
  /** False: the connection closes after this response (`Connection: close` is sent). */
  keepAlive: boolean;
  headersSent = false;
  finished = false;
  /** Told if the client connection closes before the response finished. */
  owner: { onClientClose(): void } | null = null;
  private readonly channel: ClientChannel;
  /** Head text not yet written (with writeHeadRaw: the lines after the upstream's fields). */
  private head: string | null = null;
  /** Upstream head bytes not yet written (writeHeadRaw). */
  private raw: ResponseHead | null = null;
  private framing: Framing = 'length';

  constructor(req: ClientRequest, channel: ClientChannel, keepAlive: boolean) {
    this.req = req;
    this.channel = channel;
    this.keepAlive = keepAlive;
  }

  get destroyed(): boolean {
    return this.channel.closed;
  }

  /**
   * Some of the response has been written to the client, so it can no longer be replaced by an
   * error. Not the same as headersSent: the head is held until the first body bytes (frame).
   */
  get started(): boolean {
    return this.headersSent && this.head === null;
  }

  /** Drops a head that is still held (not started), so another response can be written instead. */
  discardHead(): void {
    if (this.started) throw new Error('the response has started');
    this.head = null;
    this.raw = null;
    this.headersSent = false;
  }

  /**
   * Sets the status and fields ([name, value, ...]; hop-by-hop fields already removed). Without a
   * Content-Length the body is sent chunked (HTTP/1.1) or delimited by closing (HTTP/1.0).
   */
  writeHead(status: number, headers: readonly string[]): void {
    let head = 'HTTP/1.1 ' + status + ' ' + (STATUS_CODES[status] ?? 'Unknown') + '\r\n';
    let length = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === 14 && lowerName(name) === 'content-length') length = true;
      head += name + ': ' + headers[i + 1]! + '\r\n';
    }
    this.head = head + this.framingFields(status, length);
    this.headersSent = true;
  }

  /**
   * Sets the head from an upstream response's bytes (gateway/http1-parser.ts): its status line
   * and fields go out as received, minus the hop-by-hop lines, plus `extra` (complete lines).
   */
  writeHeadRaw(head: ResponseHead, status: number, extra: string): void {
    this.raw = head;
    this.head = extra + this.framingFields(status, head.hasLength);
    this.headersSent = true;
  }

  /** Chooses the body framing; returns the framing and connection fields plus the blank line. */
  private framingFields(status: number, hasLength: boolean): string {
    const bodyless = this.req.head.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    this.framing = bodyless ? 'none' : hasLength ? 'length' : this.req.head.http10 ? 'close' : 'chunked';
    let out = this.framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : '';
    if (this.framing === 'close') this.keepAlive = false;
    if (!this.keepAlive) out += 'Connection: close\r\n';
    else if (this.req.head.http10) out += 'Connection: keep-alive\r\n';
    return out + '\r\n';
  }

  /**
   * Writes body bytes (copied: `chunk` may be a view of a reused read buffer); false when the
   * client socket's buffer is full (wait for onceDrain).
   */
  write(chunk: Buffer): boolean {
    if (this.channel.closed) return true;
    return this.channel.write(this.frame(chunk, false));
  }

  /** Finishes the response (with optional last body bytes, copied like write's). */
  end(chunk?: Buffer | string): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.channel.closed) {
      const last = chunk === undefined ? null : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.channel.write(this.frame(last, true));
    }
    this.channel.responseDone(this);
  }

  onceDrain(cb: () => void): void {
    this.channel.onceDrain(cb);
  }

  /** Cuts the client connection (a response that cannot be completed). */
  destroy(): void {
    this.finished = true;
    this.channel.destroy();
  }

  /** One new buffer with the pending head (if any) and a copy of `chunk` framed for the wire. */
  private frame(chunk: Buffer | null, last: boolean): Buffer {
    const raw = this.raw;
    this.raw = null;
    const head = this.head ?? '';
    this.head = null;
    const body = this.framing === 'none' || chunk === null ? 0 : chunk.length;
    const chunked = this.framing === 'chunked';
    const prefix = chunked && body > 0 ? chunkSizeLine(body) : '';
    const suffix = chunked ? chunkTail(body > 0, last) : '';
    const out = Buffer.allocUnsafe(rawLength(raw) + head.length + prefix.length + body + suffix.length);
    let off = raw === null ? 0 : copyRaw(raw, out);
    off += out.write(head, off, 'latin1');
    off += out.write(prefix, off, 'latin1');
    if (body > 0) off += chunk!.copy(out, off);
    out.write(suffix, off, 'latin1');
    return out;
  }
}

/** Bytes an upstream head takes on the wire: its bytes minus the dropped lines. */
function rawLength(raw: ResponseHead | null): number {
  if (raw === null) return 0;
  let n = raw.bytes.length;
  const d = raw.drops;
  if (d !== null) for (let i = 0; i < d.length; i += 2) n -= d[i + 1]! - d[i]!;
  return n;
}

/** Copies an upstream head into `out` as `HTTP/1.1` + its status line rest + its kept fields. */
function copyRaw(raw: ResponseHead, out: Buffer): number {
  let off = out.write('HTTP/1.1', 0, 'latin1');
  let from = 8; // the upstream's own version ("HTTP/1.0" or "HTTP/1.1") is replaced
  const d = raw.drops;
  if (d !== null) {
    for (let i = 0; i < d.length; i += 2) {
      off += raw.bytes.copy(out, off, from, d[i]!);
      from = d[i + 1]!;
    }
  }
  return off + raw.bytes.copy(out, off, from);
}
