/**
 * Reader-side stream positions: for each stream, each writer's persisted-up-to position, and the
 * position a reader may expose — the minimum over the stream's writers. With several event
 * persisters committing out of order, an event with a lower stream ID may land after one with a
 * higher ID; exposing only the minimum guarantees a sync token never passes an event that is not
 * yet readable (Synapse: MultiWriterIdGenerator.get_current_token, synapse/storage/util/id_generators.py).
 */
import type { StreamName } from '../config/deployment.ts';
import { STREAMS } from '../config/deployment.ts';

/** Called when a stream's safe position moves forward. */
export type AdvanceListener = (stream: StreamName, from: number, to: number) => void;

/** Every stream's per-writer positions in this process. */
export class StreamPositions {
  readonly #writers: Readonly<Record<StreamName, readonly string[]>>;
  readonly #pos = new Map<StreamName, Map<string, number>>();
  readonly #safe = new Map<StreamName, number>();
  readonly #listeners: AdvanceListener[] = [];

  constructor(writers: Readonly<Record<StreamName, readonly string[]>>) {
    this.#writers = writers;
    for (const s of STREAMS) {
      this.#pos.set(s, new Map(writers[s].map((w) => [w, 0])));
      this.#safe.set(s, 0);
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
    const before = this.#safe.get(stream)!;
    const after = Math.min(...m.values());
    if (after > before) {
      this.#safe.set(stream, after);
      for (const l of this.#listeners) l(stream, before, after);
    }
    return true;
  }

  onAdvance(listener: AdvanceListener): void {
    this.#listeners.push(listener);
  }
}
