/**
 * Synapse's own sharding of sharded writers: `int.from_bytes(sha256(key.encode("utf8")).digest(),
 * "little") % len(instances)` indexing the instance list in config order
 * (synapse/config/workers.py, `ShardedWorkerHandlingConfig._get_instance`; used for
 * `stream_writers.events`, keyed by room ID). List the servers in the same order as
 * `stream_writers.events` so that an event send reaches the persister that owns the room.
 *
 * The modulus is the number of configured servers, `down` ones included, because Synapse's
 * writer list does not shrink either. When the owner is unusable the pick is null (the data
 * plane answers 503): only that writer may persist the room's events, so another server would
 * not help.
 */
import type { Balancer, ServerState } from '../types.ts';
import { sha256LittleEndianMod } from '../hash.ts';
import { missingKey, usable } from './eligible.ts';
import { createFallback, type FallbackPolicy } from './fallback.ts';

/** Remembered key → shard indexes: sha256 costs over a microsecond, and busy rooms repeat. */
const CACHE_LIMIT = 16_384;

export class SynapseShardBalancer implements Balancer {
  readonly policy = 'synapse_shard';
  readonly #servers: readonly ServerState[];
  readonly #fallback: Balancer;
  readonly #cache = new Map<string, number>();

  constructor(servers: readonly ServerState[], fallback: FallbackPolicy) {
    this.#servers = servers;
    this.#fallback = createFallback(fallback, servers);
  }

  /** The owning server of `key`, or null when it is unusable; the fallback policy when there is no key. */
  pick(key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null {
    if (missingKey(key)) return this.#fallback.pick(null, exclude);
    const owner = this.#servers[this.#shard(key)]!;
    return usable(owner, exclude) ? owner : null;
  }

  #shard(key: string): number {
    let index = this.#cache.get(key);
    if (index === undefined) {
      index = sha256LittleEndianMod(key, this.#servers.length);
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(key, index);
    }
    return index;
  }
}
