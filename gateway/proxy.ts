/**
 * One proxied exchange: pick a server, borrow a pooled connection, write the request head from
 * the raw headers, stream the body both ways with backpressure, and finish with the upstream's
 * answer or a Matrix error (issue 3, points 1, 2 and 4). Idempotent requests that fail to connect
 * are retried once on the next server; 404/405 M_UNRECOGNIZED answers from a worker are replayed
 * once to the default upstream (issue 4, point 3: drift safety).
 */
import type { Socket } from 'node:net';
import type { ClientRequest, ClientResponse } from './client-message.ts';
import type { ServerState } from '../routing/types.ts';
import { ProxyError, isConnectFailure, statusFor, sendError, codeForSocketError, type ProxyErrorCode } from './errors.ts';
import type { ExchangeStart, ProxyContext } from './proxy-types.ts';
import { buildRequestHead, filterResponseHeaders } from './headers.ts';
import type { ConnectionPool, ConnectionUser, UpstreamConnection } from './pool.ts';
import type { ResponseHead } from './http1-parser.ts';
import type { RouteRuntime } from './route-runtime.ts';

export type { ExchangeObserver, ExchangeStart, ProxyContext } from './proxy-types.ts';
import { RequestBody } from './request-body.ts';
import { isDriftAnswer, DriftBuffer } from './drift.ts';
import { noteStreamed } from './memory.ts';

type Phase = 'connecting' | 'waiting' | 'streaming' | 'buffering' | 'done';

/** A proxied request from arrival to the last byte (or error) sent to the client. */
export class Exchange implements ConnectionUser {
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  readonly ctx: ProxyContext;
  readonly runtime: RouteRuntime;
  readonly start: number = performance.now();
  upstream: string;
  server: ServerState;
  status = 0;
  bytesOut = 0;
  retried = false;
  replayed = false;
  error: ProxyErrorCode | null = null;
  private readonly begin: ExchangeStart;
  private phase: Phase = 'connecting';
  private conn: UpstreamConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private tried: Set<ServerState> | null = null;
  private readonly body: RequestBody;
  private drift: DriftBuffer | null = null;
  /** First body chunk of the current read, held back so a whole response leaves in one end(). */
  private held: Buffer | null = null;
  /** The upstream socket write() paused for client backpressure, until the client drains. */
  private paused: Socket | null = null;

  constructor(req: ClientRequest, res: ClientResponse, ctx: ProxyContext, begin: ExchangeStart) {
    this.req = req;
    this.res = res;
    this.ctx = ctx;
    this.begin = begin;
    this.runtime = begin.runtime;
    this.upstream = begin.upstream;
    this.server = begin.server;
    this.body = new RequestBody(req, begin.runtime.maxBody, ctx.driftReplay);
    this.body.owner = this;
    res.owner = this;
  }

  /** Sends the request to the chosen server. */
  run(): void {
    if (this.body.tooLarge) return this.fail(new ProxyError('body_too_large', 'request body exceeds the limit'));
    this.attempt(this.server);
  }

  private attempt(server: ServerState): void {
    this.server = server;
    server.inflight++;
    this.phase = 'connecting';
    const pool = this.ctx.poolFor(server);
    const idle = pool.takeIdle();
    if (idle !== null) return this.send(idle);
    const conn = pool.connect(() => this.onConnect(conn));
    conn.user = this;
    this.conn = conn;
    this.arm(this.runtime.connectTimeout, 'connect_timeout');
  }

  private onConnect(conn: UpstreamConnection): void {
    if (this.conn !== conn || this.phase !== 'connecting') return;
    this.send(conn);
  }

  private send(conn: UpstreamConnection): void {
    this.conn = conn;
    conn.user = this;
    conn.parser.reset(this, this.req.head.method === 'HEAD');
    conn.setTimeout(this.runtime.idleTimeout);
    this.phase = 'waiting';
    this.disarm(); // the connect timer; bodySent starts the first-byte timer
    const head = buildRequestHead(this.req, this.begin.clientIp, this.begin.trustedPeer, this.body.chunked);
    this.body.sendTo(conn.socket, head);
  }

  /**
   * The request's last byte was written to the upstream (RequestBody; synchronously within
   * sendTo when there is no body or it is replayed or already whole). Only now is it the
   * upstream's turn: the first-byte timer starts here, so a slow upload is not cut while it is
   * still streaming (the idle timeout governs until then, see onIdleTimeout).
   */
  bodySent(): void {
    if (this.phase === 'waiting') this.arm(this.firstByteTimeout(), 'first_byte_timeout');
  }

  private firstByteTimeout(): number {
    const base = this.runtime.firstByteTimeout;
    if (!this.runtime.longPoll) return base;
    const m = /(?:^|[?&])timeout=(\d{1,9})(?:&|$)/.exec(this.req.head.url);
    return m ? base + Number(m[1]) : base;
  }

  private arm(ms: number, code: ProxyErrorCode): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(code), ms);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(code: ProxyErrorCode): void {
    this.timer = null;
    if (this.phase === 'done') return;
    this.upstreamFailed(new ProxyError(code, code === 'connect_timeout' ? 'timed out connecting to the upstream' : 'the upstream did not answer in time'));
  }

  onHead(status: number, head: ResponseHead): void {
    this.disarm();
    if (this.shouldCheckDrift(status)) {
      this.phase = 'buffering';
      this.drift = new DriftBuffer(status, head.fields());
      return;
    }
    this.phase = 'streaming';
    this.status = status;
    if (head.namesMore) return this.writeHead(status, filterResponseHeaders(head.fields()));
    this.res.writeHeadRaw(head, status, this.ctx.exposeServer ? 'X-Switchyard-Server: ' + this.server.name + '\r\n' : '');
  }

  private writeHead(status: number, headers: string[]): void {
    const res = this.res;
    if (this.ctx.exposeServer) headers.push('X-Switchyard-Server', this.server.name);
    try {
      res.writeHead(status, headers);
    } catch {
      this.status = 0;
      this.phase = 'waiting';
      return this.upstreamFailed(new ProxyError('bad_response', 'the upstream sent an invalid header'));
    }
  }

  /**
   * A body slice of the connection's shared read buffer, valid during this read only: the drift
   * buffer copies it, and the client response copies what it writes. A held 404/405 whose body
   * passes the drift limit is not M_UNRECOGNIZED: what was held goes out and the rest streams
   * (spillDrift). The first chunk of a read is held until the read is parsed, so a response that
   * arrives whole leaves through one `res.end(body)`: one socket write with the head.
   */
  onBody(chunk: Buffer): void {
    if (this.phase === 'buffering') {
      if (this.drift!.add(chunk)) return;
      this.spillDrift();
    }
    if (this.phase !== 'streaming') return;
    this.bytesOut += chunk.length;
    if (chunk.length >= 16384) noteStreamed(chunk.length);
    if (this.held === null) {
      this.held = chunk;
      return;
    }
    this.flushHeld();
    this.write(chunk);
  }

  onReadDone(): void {
    if (this.held !== null) this.flushHeld();
  }

  private flushHeld(): void {
    const chunk = this.held!;
    this.held = null;
    this.write(chunk);
  }

  /**
   * Writes to the client; when its buffer is full the upstream socket stops being read until the
   * client drains. One pause per drain: further full writes in the same read add no waiter.
   */
  private write(chunk: Buffer): void {
    if (this.res.write(chunk) || this.paused !== null) return;
    const sock = this.conn!.socket;
    this.paused = sock;
    sock.pause();
    this.res.onceDrain(() => this.resumeUpstream());
  }

  /**
   * Undoes write()'s pause, once: on the client's drain, or at completion before the connection
   * goes back to the pool (a paused idle connection would never read the next exchange's
   * answer); a drain after completion then finds nothing to resume.
   */
  private resumeUpstream(): void {
    const sock = this.paused;
    if (sock === null) return;
    this.paused = null;
    sock.resume();
  }

  onComplete(keepAlive: boolean): void {
    const conn = this.conn;
    if (conn === null) return; // the exchange already failed (e.g. an invalid header) mid-parse
    this.conn = null;
    this.resumeUpstream();
    // An early answer (before the whole body was sent): the rest of the body is not this
    // exchange's any more; the client connection reads and drops it, or closes (http1-server.ts).
    if (!this.body.done) this.body.discard();
    if (keepAlive && this.body.done) conn.pool.release(conn);
    else conn.destroy();
    this.endAttempt(this.status >= 500 || (this.drift?.status ?? 0) >= 500 ? 'failure' : 'ok');
    if (this.phase === 'buffering') return this.finishDrift();
    this.phase = 'done';
    const last = this.held;
    this.held = null;
    if (last !== null) this.res.end(last);
    else this.res.end();
    this.ctx.observer.finish(this);
  }

  onConnectionError(err: NodeJS.ErrnoException, responseStarted: boolean): void {
    const conn = this.conn;
    this.conn = null;
    if (conn !== null && conn.uses > 0 && !responseStarted && this.phase === 'waiting' && this.begin.idempotent
      && this.body.replayable && !this.body.started) {
      // A reused keep-alive connection closed by the server, most likely before our request
      // reached it; but it may have arrived and been acted on, so only an idempotent request is
      // sent again (RFC 9110 section 9.2.2); others get the error.
      this.server.inflight--;
      return this.attempt(this.server);
    }
    const connected = this.phase !== 'connecting';
    const msg = connected ? 'the upstream connection failed' : 'could not connect to the upstream';
    this.upstreamFailed(new ProxyError(codeForSocketError(err, connected), msg), conn);
  }

  onIdleTimeout(): void {
    // From the request's last byte until the head arrives, the first-byte timer governs (bodySent).
    if (this.phase === 'waiting' && this.body.done) return;
    this.upstreamFailed(new ProxyError('idle_timeout', 'the upstream went silent'));
  }

  private upstreamFailed(err: ProxyError, conn: UpstreamConnection | null = this.conn): void {
    this.disarm();
    this.conn = null;
    conn?.destroy();
    if (this.phase === 'done') return;
    this.endAttempt('failure');
    if (this.mayRetry(err)) {
      const next = this.nextServer();
      if (next !== null) {
        this.retried = true;
        this.ctx.observer.retry(this, this.server);
        return this.attempt(next);
      }
    }
    this.fail(err);
  }

  /** The request body grew past the route's limit (RequestBody). */
  bodyOverflow(): void {
    if (this.phase === 'done') return; // late body bytes of a finished exchange
    this.disarm();
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.destroy();
      this.server.inflight--;
    }
    this.fail(new ProxyError('body_too_large', 'request body exceeds the limit'));
  }

  /**
   * Idempotent requests are retried once on the next server when the attempt failed to connect,
   * or when the connection broke before any response byte (a worker killed mid-request): nothing
   * reached the client, and a retry cannot duplicate an idempotent request.
   */
  private mayRetry(err: ProxyError): boolean {
    if (this.retried || !this.begin.idempotent) return false;
    if (this.body.started && !this.body.replayable) return false;
    return isConnectFailure(err) || (err.code === 'upstream_reset' && this.phase === 'waiting');
  }

  private nextServer(): ServerState | null {
    (this.tried ??= new Set()).add(this.server);
    return this.begin.balancer.pick(this.begin.key, this.tried);
  }

  private endAttempt(outcome: 'ok' | 'failure'): void {
    this.server.inflight--;
    this.ctx.observer.attempt(this.server, outcome);
  }

  /**
   * Answers with an error, or cuts the client connection if part of the response already reached
   * it. An upstream head (and first body chunk) held back for coalescing has not reached it: it
   * is dropped and the client gets the Matrix error. A no-op once the exchange is done.
   */
  fail(err: ProxyError): void {
    if (this.phase === 'done') return;
    this.disarm();
    this.error = err.code;
    this.phase = 'done';
    const res = this.res;
    if (res.started) {
      res.destroy();
    } else if (!res.destroyed) {
      this.held = null;
      this.bytesOut = 0;
      res.discardHead();
      this.status = statusFor(err.code);
      sendError(res, this.status, err.message);
    }
    this.body.discard();
    this.ctx.observer.finish(this);
  }

  /** The client connection closed before the response finished (ClientResponse). */
  onClientClose(): void {
    if (this.phase === 'done') return;
    this.disarm();
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.user = null;
      conn.destroy();
      this.endAttempt('ok');
    }
    this.phase = 'done';
    this.error = 'client_aborted';
    this.status = 499;
    this.ctx.observer.finish(this);
  }

  private shouldCheckDrift(status: number): boolean {
    return (status === 404 || status === 405) && this.ctx.driftReplay && !this.replayed
      && this.upstream !== this.ctx.defaultUpstream && this.body.replayable && this.runtime.name !== 'default';
  }

  /**
   * The held 404/405 grew past the drift limit (DriftBuffer.add), so it is no M_UNRECOGNIZED
   * error: it goes to the client as it is, without a replay. The head and the held body are
   * written now (with backpressure, as any streamed body) and the exchange streams from here on.
   */
  private spillDrift(): void {
    const buffered = this.releaseDrift(this.drift!);
    if (buffered !== null) for (const c of buffered.chunks) this.write(c);
  }

  /**
   * Sends the head of a held 404/405 and counts its held body, which the caller writes (streaming:
   * this.write, with backpressure; at the end: res.write, the upstream connection being gone).
   * Null when writeHead refused the head and failed the exchange.
   */
  private releaseDrift(buffered: DriftBuffer): DriftBuffer | null {
    this.drift = null;
    this.phase = 'streaming';
    this.status = buffered.status;
    this.writeHead(buffered.status, filterResponseHeaders(buffered.headers));
    if (this.phase !== 'streaming') return null;
    this.bytesOut += buffered.size;
    return buffered;
  }

  private finishDrift(): void {
    const buffered = this.drift!;
    this.drift = null;
    if (isDriftAnswer(buffered)) {
      const next = this.ctx.pickDefault(new Set([this.server]));
      if (next !== null) {
        this.ctx.observer.drift(this, this.server);
        this.replayed = true;
        this.upstream = this.ctx.defaultUpstream;
        return this.attempt(next);
      }
    }
    if (this.releaseDrift(buffered) === null) return;
    for (const c of buffered.chunks) this.res.write(c);
    this.phase = 'done';
    this.res.end();
    this.ctx.observer.finish(this);
  }

  /** Milliseconds since the request arrived. */
  elapsed(): number {
    return performance.now() - this.start;
  }
}
