/**
 * Keep-alive HTTP/1.1 connections to one upstream server (issue 3, point 1: connections to
 * upstream servers are pooled and kept alive). Connections are opened on demand without a cap,
 * as nginx's `keepalive N` does: N bounds only the *idle* connections kept for reuse. Idle
 * connections are reused most-recently-used first, so a quiet pool lets the rest time out.
 */
import { connect, type Socket } from 'node:net';
import { ResponseParser, type ResponseSink } from './http1-parser.ts';
import { QuietTime, SWEEP_MS } from './quiet.ts';

/**
 * Every upstream socket reads into this one buffer (net.connect `onread`): no allocation per
 * read and no stream machinery between the socket and the parser. Anything kept past the read
 * callback is copied first (parser leftovers, body chunks handed to the client side).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * Every open upstream connection, idle and busy, of every pool (including pools a reload
 * dropped while they had busy connections), for the inactivity sweep (gateway/quiet.ts).
 */
const connections = new Set<UpstreamConnection>();
let sweeper: NodeJS.Timeout | null = null;

function startSweeper(): void {
  sweeper ??= setInterval(sweepConnections, SWEEP_MS).unref();
}

function sweepConnections(): void {
  for (const conn of connections) conn.sweep();
}

/** Where a server listens: TCP host/port or a unix socket path. */
export type Target = { readonly host: string; readonly port: number } | { readonly path: string };

/** Parses `http://host:port` or `unix:/path` (config/routes-schema.ts Server.url). */
export function parseTarget(url: string): Target {
  if (url.startsWith('unix:')) return { path: url.slice(5) };
  const u = new URL(url);
  // Workers listen on plain HTTP (or unix sockets) behind the gateway; TLS to upstreams is not implemented.
  if (u.protocol !== 'http:') throw new Error(`upstream ${url}: only http:// and unix: upstreams are supported`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port || 80) };
}

/** What an exchange in flight hears from its connection besides the parsed response. */
export interface ConnectionUser extends ResponseSink {
  /** The socket failed or closed before the response completed. */
  onConnectionError(err: NodeJS.ErrnoException, responseStarted: boolean): void;
  /** No bytes for the configured idle time while the exchange was waiting. */
  onIdleTimeout(): void;
  /** The bytes of one read were parsed: pass on anything held back for coalescing. */
  onReadDone(): void;
}

/** One upstream connection and the response parser that reads it. */
export class UpstreamConnection {
  readonly socket: Socket;
  readonly parser = new ResponseParser();
  readonly pool: ConnectionPool;
  user: ConnectionUser | null = null;
  /** Exchanges completed on this connection (0 = fresh; a reused one may be stale). */
  uses = 0;
  closed = false;
  /** The current inactivity limit (ms): the exchange's idle timeout, or the pool's when idle. */
  timeoutMs = 0;
  private readonly quiet = new QuietTime();

  constructor(pool: ConnectionPool, socket: Socket) {
    this.pool = pool;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    socket.on('close', () => {
      pool.closed(this);
      this.fail(Object.assign(new Error('upstream connection closed'), { code: 'ECONNRESET' }));
    });
    this.setTimeout(pool.options.idleTimeout);
  }

  /** Sets the inactivity limit and restarts the quiet count (no timer per socket: gateway/quiet.ts). */
  setTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.quiet.reset();
  }

  /** One sweep: when no byte moved either way for the limit, the connection times out. */
  sweep(): void {
    if (this.quiet.observe(this.socket) < this.timeoutMs) return;
    this.quiet.reset();
    this.onTimeout();
  }

  /** Bytes read into the shared buffer; valid only during this call (see READ_BUFFER). */
  onRead(chunk: Buffer): void {
    if (this.user === null) return this.destroy(); // unsolicited bytes: the connection is unusable
    const user = this.user;
    try {
      this.parser.execute(chunk);
      user.onReadDone();
    } catch (err) {
      this.user = null;
      this.destroy();
      user.onConnectionError(Object.assign(err as Error, { code: 'EPROTO' }), this.parser.started);
    }
  }

  private onEnd(): void {
    const user = this.user;
    this.user = null;
    if (user !== null && this.parser.readingUntilClose) {
      this.parser.eof(); // completes the close-delimited body (onComplete with keepAlive=false)
      return this.destroy();
    }
    this.destroy();
    if (user !== null) user.onConnectionError(Object.assign(new Error('upstream closed the connection'), { code: 'ECONNRESET' }), this.parser.started);
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.closed = true;
    const user = this.user;
    this.user = null;
    if (user !== null) user.onConnectionError(err, this.parser.started);
  }

  private onTimeout(): void {
    if (this.user === null) return this.destroy(); // idle in the pool too long
    this.user.onIdleTimeout();
  }

  /** Neither side closed or half-closed the socket (checked before an idle connection is reused). */
  get reusable(): boolean {
    const s = this.socket;
    return !this.closed && !s.destroyed && !s.readableEnded && s.writable;
  }

  /** Closes the connection (an aborted exchange cannot leave it in a reusable state). */
  destroy(): void {
    this.closed = true;
    this.user = null;
    this.socket.destroy();
  }
}

/** Options of one server's pool. */
export interface PoolOptions {
  /** Idle connections kept for reuse. */
  maxIdle: number;
  /** Idle connections are closed after this long (ms). */
  idleTimeout: number;
}

/** Idle connections to one server, reused most-recently-used first. */
export class ConnectionPool {
  readonly target: Target;
  private readonly idle: UpstreamConnection[] = [];
  options: PoolOptions;
  /** Open connections (idle + busy), for /status. */
  open = 0;

  constructor(target: Target, options: PoolOptions) {
    this.target = target;
    this.options = options;
  }

  /**
   * An idle connection, or null when a new one must be opened with `open()`. A connection leaves
   * the idle list on its socket's 'close' event, which comes a tick after 'end' or an error: one
   * the upstream closed meanwhile is still listed, and is dropped here instead of handed out.
   */
  takeIdle(): UpstreamConnection | null {
    let conn = this.idle.pop();
    while (conn !== undefined && !conn.reusable) {
      conn.destroy();
      conn = this.idle.pop();
    }
    return conn ?? null;
  }

  /** Starts a new connection; `onConnect` fires once it is writable. */
  connect(onConnect: () => void): UpstreamConnection {
    const t = this.target;
    let conn: UpstreamConnection | null = null;
    const onread = { buffer: READ_BUFFER, callback: (n: number): boolean => {
      conn?.onRead(READ_BUFFER.subarray(0, n));
      return true;
    } };
    const socket = 'path' in t ? connect({ path: t.path, onread }) : connect({ host: t.host, port: t.port, onread });
    socket.once('connect', onConnect);
    this.open++;
    conn = new UpstreamConnection(this, socket);
    connections.add(conn);
    startSweeper();
    return conn;
  }

  /** Returns a connection after a complete exchange; closes it if the pool is full. */
  release(conn: UpstreamConnection): void {
    conn.user = null;
    conn.uses++;
    if (conn.closed || this.idle.length >= this.options.maxIdle) return conn.destroy();
    conn.setTimeout(this.options.idleTimeout);
    this.idle.push(conn);
  }

  /** Bookkeeping for a connection whose socket closed. */
  closed(conn: UpstreamConnection): void {
    this.open--;
    connections.delete(conn);
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Number of idle connections (for /status). */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Closes every idle connection (server removed by a reload, or shutdown). */
  closeIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
