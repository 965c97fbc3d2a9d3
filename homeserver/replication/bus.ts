/**
 * The replication bus of one process: dispatches stream updates locally and over Redis pub/sub,
 * keeps StreamPositions current, feeds the Notifier, and lets idle writers advance. Redis is a
 * delivery accelerator, never the source of truth: a gap in a writer's POSITION sequence, a
 * reconnect, or Redis being down makes the process re-read positions from PostgreSQL and wake every
 * waiter, which then reads what it missed from the database (a Redis outage delays, never loses).
 */
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { StreamName } from '../config/deployment.ts';
import type { StreamPositions } from '../streams/positions.ts';
import type { Notifier } from '../streams/notifier.ts';
import { WriterIdGen } from '../streams/idgen.ts';
import { parse, serialize, type Command } from './commands.ts';
import { currentToken } from '../streams/token.ts';

/** Redis connection settings (Synapse's `redis` section). */
export interface RedisSettings { host: string; port: number; password?: string | undefined; dbid?: number | undefined }

export interface BusOptions {
  instance: string;
  channel: string;
  pool: pg.Pool;
  positions: StreamPositions;
  notifier: Notifier;
  writes: readonly StreamName[];
  redis: RedisSettings | undefined;
  log: Logger;
  pollMs?: number;
}

/** One process's view of replication. */
export class ReplicationBus {
  readonly #o: BusOptions;
  readonly #gens = new Map<StreamName, WriterIdGen>();
  #pub: Redis | undefined;
  #sub: Redis | undefined;
  #connected = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #invalidators = new Map<string, (key: string) => void>();
  readonly #resetters: (() => void)[] = [];
  readonly #rowListeners: ((stream: StreamName, row: Record<string, unknown>, token: number) => void)[] = [];

  constructor(o: BusOptions) {
    this.#o = o;
    for (const s of o.writes) this.#gens.set(s, new WriterIdGen(s, o.instance, o.pool, (...a) => this.#ownPosition(...a)));
    o.positions.onAdvance((s, from, to) => o.notifier.advanced(s, from, to));
  }

  /** The ID generator of a stream this process writes (throws if it does not write it). */
  writer(stream: StreamName): WriterIdGen {
    const g = this.#gens.get(stream);
    if (!g) throw new Error(`instance ${this.#o.instance} is not a writer of stream ${stream}`);
    return g;
  }

  /** Registers a cache that INVALIDATE commands for `cache` clear entries of. */
  onInvalidate(cache: string, drop: (key: string) => void): void {
    this.#invalidators.set(cache, drop);
  }

  /** Registers a callback for when replication state may have been missed (gap, reconnect): drop caches. */
  onReset(reset: () => void): void {
    this.#resetters.push(reset);
  }

  /** Registers a listener for every row announced (local or remote), e.g. cache invalidation. */
  onRow(listener: (stream: StreamName, row: Record<string, unknown>, token: number) => void): void {
    this.#rowListeners.push(listener);
  }

  /** Drops `key` from `cache` here and on every other process. */
  invalidate(cache: string, key: string): void {
    this.#invalidators.get(cache)?.(key);
    this.#send({ kind: 'INVALIDATE', instance: this.#o.instance, cache, key });
  }

  #reset(): void {
    for (const r of this.#resetters) r();
    this.#o.notifier.resetHistory(currentToken(this.#o.positions));
    this.#o.notifier.wakeAll();
  }

  /** Announces a persisted row (after commit, before `finish`). */
  rdata(stream: StreamName, token: number, row: Record<string, unknown>): void {
    for (const l of this.#rowListeners) l(stream, row, token);
    this.#send({ kind: 'RDATA', stream, instance: this.#o.instance, token, row });
    this.#rowSeen(stream, token, row);
  }

  /**
   * A row not yet readable: the notifier holds it until the safe position covers it, then the
   * positions count it seen. In this order, since rowSeen may move the safe position at once,
   * which releases the rows buffered so far.
   */
  #rowSeen(stream: StreamName, token: number, row: Record<string, unknown>): void {
    this.#o.notifier.buffer(stream, token, row);
    this.#o.positions.rowSeen(stream, token);
  }

  /** Loads positions, syncs writers with their sequences, connects Redis, starts the poll timer. */
  async start(): Promise<void> {
    await this.#catchUpFromDb();
    for (const g of this.#gens.values()) await g.syncWithSequence();
    this.#o.notifier.resetHistory(currentToken(this.#o.positions));
    if (this.#o.redis) await this.#connect(this.#o.redis);
    this.#timer = setInterval(() => void this.#tick(), this.#o.pollMs ?? 500);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const g of this.#gens.values()) await g.flushed();
    this.#sub?.disconnect();
    this.#pub?.disconnect();
  }

  get redisConnected(): boolean {
    return this.#connected;
  }

  async #connect(r: RedisSettings): Promise<void> {
    const opts = { host: r.host, port: r.port, password: r.password, db: r.dbid ?? 0, lazyConnect: true, retryStrategy: (n: number) => Math.min(50 * n, 500) };
    // Auto-pipelining sends the RDATA and POSITION of one commit in a single write.
    this.#pub = new Redis({ ...opts, enableOfflineQueue: false, maxRetriesPerRequest: 0, enableAutoPipelining: true });
    this.#sub = new Redis({ ...opts, maxRetriesPerRequest: null });
    for (const c of [this.#pub, this.#sub]) c.on('error', () => undefined);
    this.#sub.on('message', (_ch: string, msg: string) => this.#receive(msg));
    this.#sub.on('ready', () => void this.#onReady());
    this.#sub.on('close', () => { this.#connected = false; });
    await Promise.all([this.#pub.connect(), this.#sub.connect()]).catch((err: unknown) => {
      this.#o.log.warn({ err: String(err) }, 'redis unavailable at start: polling PostgreSQL until it returns');
    });
  }

  async #onReady(): Promise<void> {
    if (!this.#sub) return;
    await this.#sub.subscribe(this.#o.channel).catch(() => undefined);
    this.#connected = true;
    await this.#catchUpFromDb();
    this.#reset();
    this.#send({ kind: 'REPLICATE', instance: this.#o.instance });
  }

  #send(cmd: Command): void {
    if (!this.#pub || !this.#connected) return;
    this.#pub.publish(this.#o.channel, serialize(cmd)).catch(() => undefined);
  }

  #ownPosition(stream: StreamName, instance: string, prev: number, next: number): void {
    this.#o.positions.advance(stream, instance, next);
    this.#send({ kind: 'POSITION', stream, instance, prev, next });
  }

  #receive(line: string): void {
    let cmd: Command;
    try { cmd = parse(line); } catch (err) {
      this.#o.log.warn({ err: String(err) }, 'dropping malformed replication command');
      return;
    }
    if (cmd.instance === this.#o.instance) return;
    this.handle(cmd);
  }

  /** Applies one command from another instance (exhaustive over the command union). */
  handle(cmd: Command): void {
    const { positions, notifier } = this.#o;
    switch (cmd.kind) {
      case 'RDATA':
        for (const l of this.#rowListeners) l(cmd.stream, cmd.row, cmd.token);
        // A late row is at or below the safe position, where rowSeen has nothing to count.
        if (cmd.token <= positions.safe(cmd.stream)) notifier.late(cmd.stream, cmd.token, cmd.row, positions.safe(cmd.stream));
        else this.#rowSeen(cmd.stream, cmd.token, cmd.row);
        return;
      case 'POSITION': {
        const known = positions.get(cmd.stream, cmd.instance);
        const gap = cmd.prev > known || (cmd.prev === cmd.next && cmd.next > known);
        positions.advance(cmd.stream, cmd.instance, cmd.next);
        this.#gens.get(cmd.stream)?.heard(cmd.next);
        if (gap) this.#reset();
        return;
      }
      case 'REPLICATE':
        for (const g of this.#gens.values()) this.#send({ kind: 'POSITION', stream: g.stream, instance: g.instance, prev: g.position, next: g.position });
        return;
      case 'INVALIDATE':
        this.#invalidators.get(cmd.cache)?.(cmd.key);
        return;
      default: {
        const never: never = cmd;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  /** Re-reads every writer's persisted position; wakes everyone if anything moved. */
  async #catchUpFromDb(): Promise<void> {
    const r = await this.#o.pool.query<{ stream_name: StreamName; instance_name: string; stream_id: string }>('SELECT stream_name, instance_name, stream_id FROM stream_positions');
    let moved = false;
    for (const row of r.rows) {
      if (row.instance_name === this.#o.instance && this.#gens.has(row.stream_name)) continue;
      if (!this.#o.positions.writers(row.stream_name)?.includes(row.instance_name)) continue;
      moved = this.#o.positions.advance(row.stream_name, row.instance_name, Number(row.stream_id)) || moved;
      this.#gens.get(row.stream_name)?.heard(Number(row.stream_id));
    }
    if (moved) this.#reset();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      for (const g of this.#gens.values()) await g.syncWithSequence();
      if (!this.#connected) await this.#catchUpFromDb();
    } catch (err) {
      this.#o.log.warn({ err: String(err) }, 'replication poll failed');
    }
  }
}
