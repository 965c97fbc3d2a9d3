/**
 * Consistent hashing on a ring with virtual nodes (Karger et al. 1997): each server owns
 * POINTS_PER_WEIGHT × weight points; a key belongs to the first usable server clockwise from
 * its hash. Adding or removing one of N servers therefore moves only the keys on that server's
 * arcs (≈ 1/N), and an unusable server's keys move to their next server and return when it
 * recovers, because the ring itself never changes with health.
 *
 * Optional bounded load ("Consistent Hashing with Bounded Loads", Mirrokni, Thorup, Zadimoghaddam
 * 2018): a server is skipped while inflight + 1 > ceil(c × (total inflight + 1) / usable servers),
 * so no server takes more than c × the mean; since c > 1 at least one server always qualifies.
 */
import type { Balancer, ServerState } from '../types.ts';
import { crc32, fmix32, ringHash } from '../hash.ts';
import { missingKey, usable } from './eligible.ts';
import { createFallback, type FallbackPolicy } from './fallback.ts';
import { bucketOwners, bucketTable, buildRing, landing, lowerBound, ringBuckets, usableMask, type Ring } from './ring.ts';

/**
 * Ring points per unit of weight. One server's share of the ring deviates from its ideal by
 * about 1/√points (≈3% here; 256 points gave up to 17% in the movement test); the ring costs
 * 8 bytes per point and one binary search per pick.
 */
export const POINTS_PER_WEIGHT = 1024;

/** Builds the ring from server names (stable identities: changing a URL or port keeps the keys). */
export function consistentRing(servers: readonly ServerState[]): Ring {
  const hashes: number[] = [];
  const owners: number[] = [];
  servers.forEach((s, owner) => {
    const base = crc32(`${s.name}\0`);
    for (let j = 0; j < POINTS_PER_WEIGHT * s.weight; j++) {
      hashes.push(fmix32(crc32(String(j), base)));
      owners.push(owner);
    }
  });
  return buildRing(hashes, owners);
}

export class ConsistentHashBalancer implements Balancer {
  readonly policy = 'consistent_hash';
  readonly #servers: readonly ServerState[];
  readonly #ring: Ring;
  readonly #buckets: Uint32Array;
  readonly #boundedLoad: number | undefined;
  readonly #fallback: Balancer;
  /** For each ring point, the server a plain pick lands on (-1: none usable), built for #mask. */
  readonly #resolved: Int32Array;
  /** #resolved per bucket of #buckets when all its keys agree (bucketOwners), built with it. */
  readonly #bucketOwner = bucketTable();
  /** usableMask the #resolved table was built for; -2 = never built. */
  #mask = -2;

  constructor(servers: readonly ServerState[], fallback: FallbackPolicy, boundedLoad?: number) {
    this.#servers = servers;
    this.#ring = consistentRing(servers);
    this.#buckets = ringBuckets(this.#ring.hashes);
    this.#resolved = new Int32Array(this.#ring.hashes.length);
    this.#boundedLoad = boundedLoad;
    this.#fallback = createFallback(fallback, servers);
  }

  /** The first usable (and, with bounded load, not overloaded) server clockwise from the key; null when none. */
  pick(key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null {
    if (missingKey(key)) return this.#fallback.pick(null, exclude);
    const mask = exclude === undefined && this.#boundedLoad === undefined ? usableMask(this.#servers) : -1;
    if (mask < 0) return this.#walk(key, exclude);
    if (mask !== this.#mask) this.#resolve(mask);
    const owner = landing(ringHash(key), this.#ring, this.#buckets, this.#bucketOwner, this.#resolved);
    return owner < 0 ? null : this.#servers[owner]!;
  }

  /** The general pick (exclusions, bounded load, more than 31 servers): walks the ring. */
  #walk(key: string, exclude: ReadonlySet<ServerState> | undefined): ServerState | null {
    const limit = this.#limit(exclude);
    if (limit === 0) return null;
    const { hashes, owners } = this.#ring;
    const start = lowerBound(hashes, ringHash(key));
    for (let step = 0; step < hashes.length; step++) {
      const s = this.#servers[owners[(start + step) % hashes.length]!]!;
      if (usable(s, exclude) && s.inflight < limit) return s;
    }
    return null;
  }

  /**
   * Rebuilds #resolved for the servers usable in `mask`: walking the ring backwards, each point
   * takes its own owner when usable, else the answer of the next point (two laps close the wrap).
   */
  #resolve(mask: number): void {
    const { owners } = this.#ring;
    const n = owners.length;
    let next = -1;
    for (let lap = 0; lap < 2; lap++) {
      for (let i = n - 1; i >= 0; i--) {
        const o = owners[i]!;
        if ((mask >>> o) & 1) next = o;
        this.#resolved[i] = next;
      }
    }
    bucketOwners(this.#buckets, this.#resolved, this.#bucketOwner);
    this.#mask = mask;
  }

  /** The in-flight count a server must stay below to be picked: ∞ without bounded load; 0 when nothing is usable. */
  #limit(exclude: ReadonlySet<ServerState> | undefined): number {
    let count = 0;
    let total = 0;
    for (const s of this.#servers) {
      if (!usable(s, exclude)) continue;
      count++;
      total += s.inflight;
    }
    if (count === 0) return 0;
    if (this.#boundedLoad === undefined) return Infinity;
    // The epsilon keeps float noise (1.1 × 10 = 11.000000000000002) from loosening the bound by one.
    return Math.ceil((this.#boundedLoad * (total + 1)) / count - 1e-9);
  }
}
