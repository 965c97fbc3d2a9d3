/**
 * Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer in
 * ngx_http_upstream_round_robin.c): each pick adds every usable server's weight to its running
 * score, takes the highest score and subtracts the total weight from it. Weights 5,1,1 give
 * a a b a c a a — spread out, never bursts. Unusable servers neither score nor lose score.
 */
import type { Balancer, ServerState } from '../types.ts';
import { usable } from './eligible.ts';

export class RoundRobinBalancer implements Balancer {
  readonly policy = 'round_robin';
  readonly #servers: readonly ServerState[];
  readonly #score: Float64Array;

  constructor(servers: readonly ServerState[]) {
    this.#servers = servers;
    this.#score = new Float64Array(servers.length);
  }

  /** Ignores the key; returns null when no server is usable. */
  pick(_key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null {
    return pickSmooth(this.#servers, this.#score, exclude, null);
  }
}

/**
 * One step of smooth weighted round robin over the usable servers; with `tiedWith`, only over
 * those whose inflight/weight equals that server's (least outstanding's tie-break).
 */
export function pickSmooth(
  servers: readonly ServerState[], score: Float64Array,
  exclude: ReadonlySet<ServerState> | undefined, tiedWith: ServerState | null,
): ServerState | null {
  let best = -1;
  let total = 0;
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]!;
    if (!usable(s, exclude)) continue;
    if (tiedWith !== null && s.inflight * tiedWith.weight !== tiedWith.inflight * s.weight) continue;
    score[i]! += s.weight;
    total += s.weight;
    if (best < 0 || score[i]! > score[best]!) best = i;
  }
  if (best < 0) return null;
  score[best]! -= total;
  return servers[best]!;
}
