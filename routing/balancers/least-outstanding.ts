/**
 * Least outstanding requests, weighted as nginx `least_conn` does: the lowest `inflight/weight`
 * wins; servers tied on that ratio share the pick by smooth weighted round robin, so idle
 * servers still see traffic in proportion to their weights and the choice is deterministic.
 * The data plane owns `inflight` (increment when sending, decrement when done).
 */
import type { Balancer, ServerState } from '../types.ts';
import { usable } from './eligible.ts';
import { pickSmooth } from './round-robin.ts';

export class LeastOutstandingBalancer implements Balancer {
  readonly policy = 'least_outstanding';
  readonly #servers: readonly ServerState[];
  readonly #score: Float64Array;

  constructor(servers: readonly ServerState[]) {
    this.#servers = servers;
    this.#score = new Float64Array(servers.length);
  }

  /** Ignores the key; returns null when no server is usable. */
  pick(_key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null {
    let best: ServerState | null = null;
    for (const s of this.#servers) {
      if (usable(s, exclude) && (best === null || s.inflight * best.weight < best.inflight * s.weight)) best = s;
    }
    if (best === null) return null;
    return pickSmooth(this.#servers, this.#score, exclude, best);
  }
}
