/**
 * The gateway's HTTP/1.1 listeners over node:net (issue 3, point 10: measured to cost far less
 * CPU per request than node:http's server; test/bench/PROXY-CANDIDATES.md). One ClientConnection
 * per socket parses requests strictly (gateway/http1-request.ts), hands each to the dispatcher
 * with its response writer, and keeps responses in request order: pipelined requests wait until
 * the one before them is answered. Parse errors are answered with a Matrix error and the
 * connection is closed (RFC 9112 section 11.2: after a framing error nothing on the connection
 * can be trusted).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { matrixErrorBody } from './errors.ts';
import { BodyDecoder, RequestError, parseRequestHead } from './http1-request.ts';
import { ClientRequest, ClientResponse, type ClientChannel } from './client-message.ts';
import { QuietTime, SWEEP_MS } from './quiet.ts';

/** Limits of one listener. */
export interface ListenerLimits {
  /** Largest request head (request line + fields), bytes: larger gets 431. */
  readonly maxHeader: number;
  /** Longest time to receive a whole request head, and longest idle keep-alive wait (ms). */
  readonly headersTimeout: number;
  /** Header names a request keeps as `headers` (null: all); see parseRequestHead. */
  readonly wanted?: ReadonlySet<string> | null;
}

/** Handles one parsed request. */
export type Dispatch = (req: ClientRequest, res: ClientResponse) => void;

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Pipelined bytes held while a response is in progress; beyond this, reading pauses. */
const HOLD_HIGH_WATER = 64 * 1024;
/**
 * Client bytes wait for the check phase of the event loop: within one turn every upstream
 * response that is ready (work already paid for) goes out before new requests are parsed, routed
 * and sent. Measured with the bench mix at saturation: p99 6.6 ms instead of 7.7-8.3 ms at the
 * same throughput. Order per connection is kept (one FIFO queue), the client's FIN (null) included.
 */
let deferred: (ClientConnection | Buffer | null)[] = [];

function deferRead(conn: ClientConnection, chunk: Buffer | null): void {
  if (deferred.length === 0) setImmediate(runDeferred);
  conn.queued++;
  deferred.push(conn, chunk);
}

function runDeferred(): void {
  const queue = deferred;
  deferred = [];
  for (let i = 0; i < queue.length; i += 2) (queue[i] as ClientConnection).take(queue[i + 1] as Buffer | null);
}

/** A body still unread when its response ends is read and dropped up to this size; larger closes. */
const DROP_LIMIT = 256 * 1024;

/** One client connection. */
export class ClientConnection implements ClientChannel {
  readonly socket: Socket;
  readonly remoteAddress: string;
  private readonly server: Http1Server;
  private pending: Buffer | null = null;
  private req: ClientRequest | null = null;
  private res: ClientResponse | null = null;
  /** The body being read (the connection's decoder while a request body is unread), or null. */
  private body: BodyDecoder | null = null;
  /** One decoder per connection, restarted for each request body. */
  private decoder: BodyDecoder | null = null;
  /** Hands decoded body bytes to the current request: one function per connection, not one per read. */
  private readonly onBody = (chunk: Buffer): void => this.req!.push(chunk);
  private headStart = 0;
  /** How long the socket has been quiet (the listener's sweep reads it). */
  readonly quiet = new QuietTime();
  private consuming = false;
  /**
   * Set once the connection is to close after what it is writing (a refused request, or a
   * response without keep-alive): nothing read after that point is parsed (RFC 9112 section 9.6).
   */
  private closing = false;
  private readPaused = 0;
  private drainWaiters: (() => void)[] | null = null;
  /** Reads (or the FIN) waiting in the deferred queue (deferRead), not yet taken. */
  queued = 0;

  constructor(socket: Socket, server: Http1Server) {
    this.socket = socket;
    this.server = server;
    this.remoteAddress = socket.remoteAddress ?? '';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => deferRead(this, chunk));
    // A client FIN aborts what is in flight, as node:http does: queued behind the bytes read before it.
    socket.on('end', () => deferRead(this, null));
    socket.on('error', () => this.socket.destroy());
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.onDrain());
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /**
   * Waiting for a request with nothing of one received (safe to close when draining): no request
   * or body in progress, no partial head or pipelined bytes held, no read queued in deferRead.
   */
  get idle(): boolean {
    return this.res === null && this.body === null && this.pending === null && this.queued === 0;
  }

  write(data: Buffer | string): boolean {
    return this.socket.write(data);
  }

  pauseReading(): void {
    if (this.readPaused++ === 0) this.socket.pause();
  }

  resumeReading(): void {
    if (this.readPaused > 0 && --this.readPaused === 0) this.socket.resume();
  }

  onceDrain(cb: () => void): void {
    (this.drainWaiters ??= []).push(cb);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    if (waiters !== null) for (const cb of waiters) cb();
  }

  /** Bytes read from the client (null: its FIN), handled after this event-loop turn's other I/O (see deferRead). */
  take(chunk: Buffer | null): void {
    this.queued--;
    if (chunk === null) {
      this.socket.destroy();
      return;
    }
    if (this.closing) return;
    if (this.pending !== null) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    this.consume(chunk, 0);
    // A closing listener keeps a connection only while a request is on it (the bytes may have been empty lines).
    if (this.server.draining && !this.closing && this.idle) this.socket.destroy();
  }

  /** The listener stops: an answer not yet begun says `Connection: close`; an idle connection closes now. */
  retire(): void {
    if (this.res !== null && !this.res.headersSent) this.res.keepAlive = false;
    if (this.idle) this.socket.destroy();
  }

  private consume(buf: Buffer, off: number): void {
    this.consuming = true;
    try {
      while (off < buf.length && !this.closing && !this.socket.destroyed) {
        if (this.body !== null) off = this.feedBody(buf, off);
        else if (this.res !== null) return this.hold(buf, off);
        else off = this.parseHead(buf, off);
        if (off < 0) return;
      }
    } catch (err) {
      this.reject(err instanceof RequestError ? err : new RequestError(400, 'malformed request'));
    } finally {
      this.consuming = false;
    }
  }

  /** Keeps bytes that arrived ahead of their turn (a partial head, or a pipelined request). */
  private hold(buf: Buffer, off: number): void {
    this.pending = off === 0 ? buf : buf.subarray(off);
    if (this.res !== null && this.pending.length > HOLD_HIGH_WATER) this.pauseReading();
  }

  private feedBody(buf: Buffer, off: number): number {
    const req = this.req!;
    off = this.body!.feed(buf, off, this.onBody);
    if (this.body!.done) {
      this.body = null;
      req.end();
      if (this.res === null) this.requestDone();
    }
    return off;
  }

  /** Parses the next request head at `off`; -1 when more bytes are needed (they are held). */
  private parseHead(buf: Buffer, off: number): number {
    while (buf[off] === 13 && buf[off + 1] === 10) off += 2; // empty lines before a request (RFC 9112 section 2.2)
    if (off >= buf.length) return buf.length;
    const limits = this.server.limits;
    const end = buf.indexOf(CRLFCRLF, off);
    if (end < 0 || end - off > limits.maxHeader) {
      if (buf.length - off > limits.maxHeader) throw new RequestError(431, 'request headers too large');
      if (this.headStart === 0) this.headStart = performance.now();
      else if (performance.now() - this.headStart > limits.headersTimeout) throw new RequestError(408, 'request timed out');
      this.hold(buf, off);
      return -1;
    }
    this.headStart = 0;
    const head = parseRequestHead(buf.toString('latin1', off, end), limits.wanted ?? null);
    const req = new ClientRequest(head, this);
    const res = new ClientResponse(req, this, head.keepAlive && !this.server.draining);
    this.req = req;
    this.res = res;
    if (!req.complete) {
      const body = (this.decoder ??= new BodyDecoder(-1, false));
      body.start(head.contentLength, head.chunked);
      this.body = body;
      if (head.expectContinue) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.server.dispatch(req, res);
    return end + 4;
  }

  /** The current response ended. */
  responseDone(res: ClientResponse): void {
    if (res !== this.res) return;
    this.res = null;
    if (!res.keepAlive || this.server.draining) return this.closeAfterWrites();
    if (this.body !== null) {
      if (!this.body.droppable(DROP_LIMIT)) return this.closeAfterWrites();
      this.req!.discard(); // read and drop the rest; the next request follows it
      return;
    }
    this.requestDone();
  }

  /** Response sent and body read: the connection is ready for the next request. */
  private requestDone(): void {
    this.req = null;
    if (this.readPaused > 0) {
      this.readPaused = 1;
      this.resumeReading();
    }
    const pending = this.pending;
    if (pending === null || this.consuming) return;
    this.pending = null;
    queueMicrotask(() => this.consume(pending, 0)); // after the finished exchange's own bookkeeping
  }

  private closeAfterWrites(): void {
    this.closing = true;
    this.pending = null;
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Answers a request the parser refused, then closes the connection. */
  private reject(err: RequestError): void {
    this.closing = true;
    this.pending = null;
    this.body = null;
    if (this.res !== null || this.socket.destroyed) {
      this.socket.destroy(); // mid-body: the response may have started
      return;
    }
    const body = matrixErrorBody(err.status, err.message);
    this.socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    this.socket.destroySoon();
  }

  /**
   * Called by the server's sweep when no bytes arrived for the headers timeout: an idle keep-alive
   * connection is closed, a partial head gets 408; a request in progress is left to its exchange's
   * own timers (long polls).
   */
  expire(): void {
    if (this.res !== null || this.body !== null) return;
    if (this.pending !== null && this.pending.length > 0) return this.reject(new RequestError(408, 'request timed out'));
    this.socket.destroy();
  }

  private onClose(): void {
    this.server.connections.delete(this);
    if (this.server.draining && this.server.connections.size === 0) this.server.stopSweep();
    const res = this.res;
    this.res = null;
    if (res !== null && !res.finished) res.owner?.onClientClose();
  }
}

/** One listener: a net.Server whose connections speak HTTP/1.1 through ClientConnection. */
export class Http1Server {
  readonly server: Server;
  readonly limits: ListenerLimits;
  readonly dispatch: Dispatch;
  readonly connections = new Set<ClientConnection>();
  /** Set by a graceful shutdown: every response closes its connection. */
  draining = false;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(limits: ListenerLimits, dispatch: Dispatch) {
    this.limits = limits;
    this.dispatch = dispatch;
    this.server = createServer({ noDelay: true }, (socket) => {
      this.connections.add(new ClientConnection(socket, this));
    });
  }

  /** Idle and slow-head connections, found by one sweep per second (gateway/quiet.ts). */
  private sweep(): void {
    const limit = this.limits.headersTimeout;
    for (const c of this.connections) if (c.quiet.observe(c.socket) >= limit) c.expire();
  }

  /** Starts listening; resolves once bound. */
  listen(port: number, host: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
        resolve();
      });
    });
  }

  /**
   * Stops accepting and closes idle connections (as nginx closes keep-alive connections waiting
   * for a request). One with a request in progress, a partial head or unread bytes is answered
   * with `Connection: close` and closed after it; the sweep goes on until the last one is gone,
   * so a head that never finishes still gets 408 after the headers timeout. `onClosed` runs once
   * the last connection is gone.
   */
  close(onClosed?: () => void): void {
    this.draining = true;
    this.server.close(onClosed && (() => onClosed()));
    for (const c of this.connections) c.retire();
    if (this.connections.size === 0) this.stopSweep();
  }

  /** Ends the inactivity sweep (a closed listener's last connection is gone). */
  stopSweep(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** Cuts every connection (the drain deadline passed). */
  closeAll(): void {
    for (const c of this.connections) c.destroy();
  }
}
