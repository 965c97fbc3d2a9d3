/**
 * Writer-side stream ID generation for one stream on one writer, after Synapse's
 * MultiWriterIdGenerator: IDs come from a PostgreSQL sequence shared by every writer of the stream;
 * the writer tracks the IDs it has allocated but not yet persisted, and its persisted-up-to
 * position is "one below the lowest in-flight ID", or, when nothing is in flight, the highest
 * position it knows any writer (or the sequence) reached — its own future IDs are all above that.
 *
 * Allocations are serialised (one `nextval` query on the wire at a time, batching whatever queued
 * meanwhile), so an allocation on the wire always receives IDs above every ID this writer already
 * holds: "lowest in-flight minus one" stays a true bound while it is pending. Positions heard from
 * other writers are remembered and claimed as soon as the writer is idle (nothing queued, on the
 * wire, or in flight); `#epoch` detects an allocation starting during an async sequence read.
 *
 * `allocateWith` saves the separate `nextval` round trip: the write allocates its own IDs inside
 * its statement and reports them when it returns. Until then the IDs are unknown, but bounded:
 * `nextval` increases in real time, so they exceed every ID this writer had seen when the write
 * began (its own, heard, or read from the sequence), and the position is held at that value.
 */
import type pg from 'pg';
import type { StreamName } from '../config/deployment.ts';

/** Where a writer announces that its position moved (the replication bus). */
export type PositionSink = (stream: StreamName, instance: string, prev: number, next: number) => void;

/** The sequence behind each stream (homeserver/storage/schema-sql.ts). */
export const SEQUENCES: Record<StreamName, string> = {
  events: 'events_stream_seq',
  typing: 'typing_seq',
  to_device: 'to_device_seq',
  account_data: 'account_data_seq',
  receipts: 'receipts_seq',
  presence: 'presence_seq',
  device_lists: 'device_lists_seq',
};

/** One stream's ID generator on one writer. */
export class WriterIdGen {
  readonly stream: StreamName;
  readonly instance: string;
  readonly #pool: pg.Pool;
  readonly #sink: PositionSink;
  readonly #inFlight = new Set<number>();
  readonly #queue: { n: number; resolve(ids: number[]): void; reject(err: unknown): void }[] = [];
  #allocating = false;
  #epoch = 0;
  /** For each write allocating its own IDs: the highest ID seen when it began (a lower bound). */
  readonly #unknown: number[] = [];
  /**
   * The highest ID this writer has seen: its own (from allocation on, so in-flight IDs count), or
   * read from the sequence, or heard from another writer and claimed while idle.
   */
  #maxSeen = 0;
  #heard = 0;
  #position = 0;
  #dbWrite: Promise<void> | undefined;
  #dbDirty = false;
  #flushing = false;
  #quiet: (() => void) | undefined;

  constructor(stream: StreamName, instance: string, pool: pg.Pool, sink: PositionSink) {
    this.stream = stream;
    this.instance = instance;
    this.#pool = pool;
    this.#sink = sink;
  }

  /** This writer's persisted-up-to position. */
  get position(): number {
    return this.#position;
  }

  /** Allocates `n` IDs and marks them in flight. */
  allocate(n = 1): Promise<number[]> {
    this.#epoch++;
    return new Promise((resolve, reject) => {
      this.#queue.push({ n, resolve, reject });
      if (!this.#allocating) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#allocating = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      const total = batch.reduce((a, b) => a + b.n, 0);
      // A write allocating its own IDs may finish meanwhile: keep the position below this batch.
      const bound = this.#hold();
      try {
        const r = await this.#pool.query<{ id: string }>({ name: `nextval_${this.stream}`, text: `SELECT nextval('${SEQUENCES[this.stream]}') AS id FROM generate_series(1, $1)`, values: [total] });
        const ids = r.rows.map((row) => Number(row.id)).sort((a, b) => a - b);
        this.#track(ids);
        let at = 0;
        for (const b of batch) { b.resolve(ids.slice(at, at + b.n)); at += b.n; }
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
      this.#release(bound);
    }
    this.#allocating = false;
  }

  /**
   * Runs `write`, which takes its IDs from the stream's sequence within its own statement and
   * returns them. They are in flight from the moment `write` returns (so announce, then `finish`
   * them, as with `allocate`); while it runs the position stays at or below what was seen at its start.
   */
  async allocateWith(write: () => Promise<number[]>): Promise<number[]> {
    this.#epoch++;
    const bound = this.#hold();
    try {
      const ids = await write();
      this.#track(ids);
      return ids;
    } finally {
      this.#release(bound);
    }
  }

  /** Caps the position while IDs are being allocated on the wire: they exceed everything seen now. */
  #hold(): number {
    this.#unknown.push(this.#maxSeen);
    return this.#maxSeen;
  }

  /** Marks freshly allocated IDs in flight (until `finish`) and seen. */
  #track(ids: readonly number[]): void {
    for (const id of ids) {
      this.#inFlight.add(id);
      if (id > this.#maxSeen) this.#maxSeen = id;
    }
  }

  #release(bound: number): void {
    this.#unknown.splice(this.#unknown.indexOf(bound), 1);
    this.#recompute();
  }

  /** Marks IDs persisted (or abandoned: an unused ID is vacuously persisted) and recomputes. */
  finish(ids: readonly number[]): void {
    for (const id of ids) this.#inFlight.delete(id);
    this.#recompute();
  }

  /** Another writer announced `position`: when idle, we may claim it too. */
  heard(position: number): void {
    if (position > this.#heard) this.#heard = position;
    this.#recompute();
  }

  /** Reads the sequence and, if idle throughout, advances to it (start-up and periodic tick). */
  async syncWithSequence(): Promise<void> {
    if (!this.#idle()) return;
    const epoch = this.#epoch;
    const r = await this.#pool.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${SEQUENCES[this.stream]}`);
    const row = r.rows[0]!;
    const value = row.is_called ? Number(row.last_value) : 0;
    if (epoch !== this.#epoch || !this.#idle() || value <= this.#maxSeen) return;
    this.#maxSeen = value;
    this.#recompute();
  }

  #idle(): boolean {
    return !this.#allocating && this.#queue.length === 0 && this.#inFlight.size === 0 && this.#unknown.length === 0;
  }

  #recompute(): void {
    if (this.#idle() && this.#heard > this.#maxSeen) this.#maxSeen = this.#heard;
    let next = this.#maxSeen;
    if (this.#inFlight.size > 0) next = Math.min(...this.#inFlight) - 1;
    for (const bound of this.#unknown) if (bound < next) next = bound;
    if (next <= this.#position) return;
    const prev = this.#position;
    this.#position = next;
    this.#sink(this.stream, this.instance, prev, next);
    this.#persistPosition();
  }

  /**
   * Writes the position to stream_positions at most every 100 ms (a write, then a quiet 100 ms
   * that coalesces every later move into one trailing write): the table only serves processes that
   * start late or lost Redis, and a slightly older position there only delays them. Each write is
   * its own commit (and WAL flush), so writing on every move would double the commits per send.
   */
  #persistPosition(): void {
    this.#dbDirty = true;
    if (this.#dbWrite) return;
    this.#dbWrite = (async () => {
      while (this.#dbDirty) {
        this.#dbDirty = false;
        await this.#pool.query(
          `INSERT INTO stream_positions (stream_name, instance_name, stream_id) VALUES ($1, $2, $3)
           ON CONFLICT (stream_name, instance_name) DO UPDATE SET stream_id = GREATEST(stream_positions.stream_id, EXCLUDED.stream_id)`,
          [this.stream, this.instance, this.#position],
        ).catch(() => undefined);
        if (!this.#flushing) await new Promise<void>((r) => { this.#quiet = r; setTimeout(r, 100).unref(); });
      }
    })().finally(() => { this.#dbWrite = undefined; });
  }

  /** Resolves when no position write is outstanding (clean shutdown). */
  async flushed(): Promise<void> {
    this.#flushing = true;
    this.#quiet?.();
    while (this.#dbWrite) await this.#dbWrite;
  }
}
