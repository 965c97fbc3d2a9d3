/**
 * Balancers: how a server is picked within an upstream, one small class per policy (STYLE.md,
 * after Traefik's one-package-per-strategy and Caddy's one `Select` per policy). Every policy
 * asks the same `usable` question of ServerState; keyed policies take the key from
 * routing/keys.ts, which knows nothing of balancing.
 */
import type { Balance } from '../../config/routes-schema.ts';
import type { Balancer, ServerState } from '../types.ts';
import { ConsistentHashBalancer } from './consistent-hash.ts';
import { LeastOutstandingBalancer } from './least-outstanding.ts';
import { NginxHashBalancer } from './nginx-hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import { SynapseShardBalancer } from './synapse-shard.ts';

export { ConsistentHashBalancer, LeastOutstandingBalancer, NginxHashBalancer, RoundRobinBalancer, SynapseShardBalancer };
export { nginxServerName } from './nginx-hash.ts';

/**
 * Builds the balancer for one upstream (or route override). `servers` are the live state objects
 * in config order; the balancer keeps the array, so build a new balancer when the list changes
 * (a reload) — health and in-flight changes need nothing. Throws on an empty server list.
 */
export function createBalancer(balance: Balance, servers: readonly ServerState[]): Balancer {
  if (servers.length === 0) throw new Error('a balancer needs at least one server');
  switch (balance.policy) {
    case 'round_robin': return new RoundRobinBalancer(servers);
    case 'least_outstanding': return new LeastOutstandingBalancer(servers);
    case 'consistent_hash': return new ConsistentHashBalancer(servers, balance.fallback, balance.bounded_load);
    case 'nginx_hash': return new NginxHashBalancer(servers, balance.fallback);
    case 'synapse_shard': return new SynapseShardBalancer(servers, balance.fallback);
    default: return unreachable(balance);
  }
}

function unreachable(x: never): never {
  throw new Error(`unknown balance policy ${JSON.stringify(x)}`);
}
