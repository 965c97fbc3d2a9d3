/**
 * Reader-side stream positions: for each stream, each writer's persisted-up-to position, and the
 * position a reader may expose — the minimum over the stream's writers. With several event
 * persisters committing out of order, an event with a lower stream ID may land after one with a
 * higher ID; exposing only the minimum guarantees a sync token never passes an event that is not
 * yet readable (Synapse: MultiWriterIdGenerator.get_current_token, synapse/storage/util/id_generators.py).
 *
 * Rows seen on replication extend it: each ID comes from the stream's one sequence and belongs to
 * one writer, and a row is announced only after its commit, so if every ID just above the
 * minimum is a row already seen, nothing there can still be in flight. The common case — writer
 * B commits 101 while idle writer A is at 100 — then becomes readable on B's RDATA alone, instead
 * of after A has heard B's position and announced its own (a second trip through Redis).
 */
import type { StreamName } from '../config/deployment.ts';
import { STREAMS } from '../config/deployment.ts';

const MAX_SEEN = 100_000;

/** Called when a stream's safe position moves forward. */
export type AdvanceListener = (stream: StreamName, from: number, to: number) => void;

/** Every stream's per-writer positions in this process. */
export class StreamPositions {
  readonly #writers: Readonly<Record<StreamName, readonly string[]>>;
  readonly #pos = new Map<StreamName, Map<string, number>>();
  readonly #safe = new Map<StreamName, number>();
  /** Tokens of rows seen above the safe position (committed, announced by their writer). */
  readonly #seen = new Map<StreamName, Set<number>>();
  readonly #listeners: AdvanceListener[] = [];

  constructor(writers: Readonly<Record<StreamName, readonly string[]>>) {
    this.#writers = writers;
    for (const s of STREAMS) {
      this.#pos.set(s, new Map(writers[s].map((w) => [w, 0])));
      this.#safe.set(s, 0);
      this.#seen.set(s, new Set());
    }
  }

  /** Writers of a stream, in stream_writers order. */
  writers(stream: StreamName): readonly string[] {
    return this.#writers[stream];
  }

  /** One writer's last known persisted position. */
  get(stream: StreamName, instance: string): number {
    return this.#pos.get(stream)!.get(instance) ?? 0;
  }

  /** The highest position any writer announced (an idle writer may advance to it). */
  max(stream: StreamName): number {
    return Math.max(0, ...this.#pos.get(stream)!.values());
  }

  /** The position readers may expose: min over writers. */
  safe(stream: StreamName): number {
    return this.#safe.get(stream)!;
  }

  /** Moves a writer forward (never back); notifies listeners if the safe position moved. */
  advance(stream: StreamName, instance: string, position: number): boolean {
    const m = this.#pos.get(stream)!;
    if (!m.has(instance) || position <= m.get(instance)!) return false;
    m.set(instance, position);
    this.#recompute(stream);
    return true;
  }

  /** A committed row with stream ID `token` was announced (RDATA, local or remote). */
  rowSeen(stream: StreamName, token: number): void {
    const safe = this.#safe.get(stream)!;
    if (token <= safe) return;
    const seen = this.#seen.get(stream)!;
    if (seen.size >= MAX_SEEN) seen.clear(); // a writer stuck for long: fall back to positions alone
    seen.add(token);
    if (token === safe + 1) this.#recompute(stream);
  }

  #recompute(stream: StreamName): void {
    const before = this.#safe.get(stream)!;
    let after = Math.max(before, Math.min(...this.#pos.get(stream)!.values()));
    const seen = this.#seen.get(stream)!;
    while (seen.has(after + 1)) after++;
    if (after <= before) return;
    for (const t of seen) if (t <= after) seen.delete(t);
    this.#safe.set(stream, after);
    for (const l of this.#listeners) l(stream, before, after);
  }

  onAdvance(listener: AdvanceListener): void {
    this.#listeners.push(listener);
  }
}
