/**
 * The request body of one exchange: streamed to the upstream socket with backpressure (issue 3,
 * point 1: a 200 MB upload must not be buffered), re-framed with chunked coding when the client
 * sent it chunked, limited to the route's `max_body`, and kept in memory when it is at most 64 KB
 * so the exchange can be replayed to the default upstream (issue 4, point 3: drift safety).
 */
import type { Socket } from 'node:net';
import { CHUNK_END, LAST_CHUNK, chunkSizeLine } from './body-framing.ts';
import type { BodySink, ClientRequest } from './client-message.ts';
import { noteStreamed } from './memory.ts';

/** Bodies up to this size are kept for a drift replay (issue 4, point 3). */
export const KEEP_LIMIT = 64 * 1024;

/** The body of one client request and where it is being streamed. */
export class RequestBody implements BodySink {
  readonly hasBody: boolean;
  readonly chunked: boolean;
  readonly tooLarge: boolean;
  /** Bytes were read from the client and written to an upstream. */
  started = false;
  /** Every byte has been written to the current upstream (or there is no body). */
  done: boolean;
  /**
   * Told when a chunked body grows past the limit, and when the request's last byte has been
   * written to the upstream (the first-byte timer starts then: gateway/proxy.ts bodySent).
   */
  owner: { bodyOverflow(): void; bodySent(): void } | null = null;
  private readonly req: ClientRequest;
  private readonly maxBody: number;
  private kept: Buffer[] | null;
  private keptBytes = 0;
  private received = 0;
  private complete = false;
  private socket: Socket | null = null;
  private corked = false;

  constructor(req: ClientRequest, maxBody: number, keep: boolean) {
    this.req = req;
    this.maxBody = maxBody;
    const length = req.head.contentLength;
    this.chunked = req.head.chunked;
    this.hasBody = this.chunked || length > 0;
    this.tooLarge = length > maxBody;
    this.done = !this.hasBody;
    this.kept = keep && this.hasBody && length <= KEEP_LIMIT ? [] : null;
  }

  /** The body can be sent again from memory (or there is none). */
  get replayable(): boolean {
    return !this.hasBody || (this.complete && this.kept !== null);
  }

  /**
   * Writes the request head, then streams the body (or its kept copy) to an upstream socket. The
   * socket stays corked until the first body bytes, so head and a small body leave in one write.
   * The owner's bodySent runs once the last byte is written: here, or later from onEnd.
   */
  sendTo(socket: Socket, head: string): void {
    if (!this.hasBody) {
      socket.write(head, 'latin1');
      return this.owner?.bodySent();
    }
    socket.cork();
    socket.write(head, 'latin1');
    if (this.started) {
      this.replay(socket);
      socket.uncork();
      return this.owner?.bodySent();
    }
    this.started = true;
    this.socket = socket;
    this.corked = true;
    this.req.read(this);
  }

  private replay(socket: Socket): void {
    if (this.kept === null || !this.complete) throw new Error('request body is not replayable');
    for (const c of this.kept) this.write(socket, c);
    this.finish(socket);
  }

  /** A body chunk from the client (BodySink). */
  onData(chunk: Buffer): void {
    this.received += chunk.length;
    if (chunk.length >= 16384) noteStreamed(chunk.length);
    if (this.received > this.maxBody) return this.overflow();
    if (this.kept !== null) {
      this.keptBytes += chunk.length;
      if (this.keptBytes > KEEP_LIMIT) this.kept = null;
      else this.kept.push(chunk);
    }
    const socket = this.socket;
    if (socket === null || socket.destroyed) return;
    const ok = this.write(socket, chunk);
    this.uncork(socket);
    if (!ok) {
      this.req.pause();
      socket.once('drain', () => this.req.resume());
    }
  }

  private write(socket: Socket, chunk: Buffer): boolean {
    if (this.chunked) socket.write(chunkSizeLine(chunk.length), 'latin1');
    const ok = socket.write(chunk);
    return this.chunked ? socket.write(CHUNK_END, 'latin1') && ok : ok;
  }

  /** The client's body ended (BodySink). */
  onEnd(): void {
    this.complete = true;
    const socket = this.socket;
    if (socket === null || socket.destroyed) return;
    this.finish(socket);
    this.uncork(socket);
    this.owner?.bodySent();
  }

  private uncork(socket: Socket): void {
    if (!this.corked) return;
    this.corked = false;
    socket.uncork();
  }

  private finish(socket: Socket): void {
    if (this.chunked) socket.write(LAST_CHUNK, 'latin1');
    this.done = true;
  }

  private overflow(): void {
    this.discard();
    this.owner?.bodyOverflow();
  }

  /** Stops streaming; the connection reads and drops the rest of the body (or closes). */
  discard(): void {
    this.socket = null;
    this.req.discard();
  }
}
