/**
 * The balancer a keyed policy uses for requests without a key (routes.yaml `fallback`, default
 * round robin — what nginx does for an empty `hash` key).
 */
import type { Balancer, ServerState } from '../types.ts';
import { LeastOutstandingBalancer } from './least-outstanding.ts';
import { RoundRobinBalancer } from './round-robin.ts';

export type FallbackPolicy = 'round_robin' | 'least_outstanding';

/** Builds the key-less fallback over the same server objects (so health and in-flight counts are shared). */
export function createFallback(policy: FallbackPolicy, servers: readonly ServerState[]): Balancer {
  return policy === 'least_outstanding' ? new LeastOutstandingBalancer(servers) : new RoundRobinBalancer(servers);
}
