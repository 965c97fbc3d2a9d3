/**
 * A sorted ring of 32-bit points, each owned by a server index: the shared structure behind the
 * consistent_hash and nginx_hash balancers.
 */
import type { ServerState } from '../types.ts';

export interface Ring {
  /** Point hashes, ascending. */
  readonly hashes: Uint32Array;
  /** owners[i] is the index (in config order) of the server that owns hashes[i]. */
  readonly owners: Uint32Array;
}

/**
 * Sorts `(hash, owner)` pairs by hash (ties: lower owner first, then generation order) and keeps
 * only the first point of each run of equal hashes, as nginx's ring builder does.
 */
export function buildRing(hashes: readonly number[], owners: readonly number[]): Ring {
  const order = Array.from(hashes.keys()).sort((a, b) => hashes[a]! - hashes[b]! || owners[a]! - owners[b]! || a - b);
  const outHashes: number[] = [];
  const outOwners: number[] = [];
  for (const i of order) {
    if (outHashes.length > 0 && outHashes[outHashes.length - 1] === hashes[i]) continue;
    outHashes.push(hashes[i]!);
    outOwners.push(owners[i]!);
  }
  return { hashes: Uint32Array.from(outHashes), owners: Uint32Array.from(outOwners) };
}

/** Index of the first point with hash ≥ h; `length` when h is above every point (the caller wraps). */
export function lowerBound(hashes: Uint32Array, h: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** log2 of the bucket count of `ringBuckets`: 4096 buckets (16 KiB), about one point each. */
const BUCKET_BITS = 12;

/**
 * A bucket index over a ring: `buckets[b]` is lowerBound of the first hash of bucket b (the top
 * BUCKET_BITS bits), so `ringStart` finds lowerBound with a short forward scan instead of a
 * binary search of ~11 unpredictable steps.
 */
export function ringBuckets(hashes: Uint32Array): Uint32Array {
  const buckets = new Uint32Array((1 << BUCKET_BITS) + 1);
  for (let b = 0; b <= 1 << BUCKET_BITS; b++) buckets[b] = lowerBound(hashes, b * 2 ** (32 - BUCKET_BITS));
  return buckets;
}

/** lowerBound(hashes, h) through the bucket index of `ringBuckets(hashes)`. */
export function ringStart(hashes: Uint32Array, buckets: Uint32Array, h: number): number {
  let i = buckets[h >>> (32 - BUCKET_BITS)]!;
  const n = hashes.length;
  while (i < n && hashes[i]! < h) i++;
  return i;
}

/** bucketOwners' entry for a bucket whose keys do not all land on one server. */
export const MIXED_BUCKET = -2;

/** The bucket of `ringBuckets` that hash `h` falls in. */
export function bucketOf(h: number): number {
  return h >>> (32 - BUCKET_BITS);
}

/**
 * Per bucket, the answer every key in it gets when all of them get the same one: the keys of
 * bucket b start their walk at a point between buckets[b] and buckets[b + 1] (wrapping at the
 * end), so when `resolved` agrees on all of those, a pick needs no ring search. Most buckets
 * hold no point at all, so most picks are one table read. `out` has one entry per bucket.
 */
export function bucketOwners(buckets: Uint32Array, resolved: Int32Array, out: Int16Array): void {
  const n = resolved.length;
  for (let b = 0; b < out.length; b++) {
    const lo = buckets[b]!;
    const hi = buckets[b + 1]!;
    const first = resolved[lo === n ? 0 : lo]!;
    let same = true;
    for (let i = lo + 1; i <= hi && same; i++) same = resolved[i === n ? 0 : i] === first;
    out[b] = same ? first : MIXED_BUCKET;
  }
}

/** A table for bucketOwners: one entry per bucket of `ringBuckets`. */
export function bucketTable(): Int16Array {
  return new Int16Array(1 << BUCKET_BITS);
}

/**
 * Where hash `h` lands: the bucket's owner when every key of its bucket agrees, else the
 * per-point answer at the ring search's start (wrapping). -1 when no server is usable.
 */
export function landing(h: number, ring: Ring, buckets: Uint32Array, bucketOwner: Int16Array, resolved: Int32Array): number {
  const owner = bucketOwner[bucketOf(h)]!;
  if (owner !== MIXED_BUCKET) return owner;
  const start = ringStart(ring.hashes, buckets, h);
  return resolved[start === ring.hashes.length ? 0 : start]!;
}

/**
 * A bitmask of which of `servers` are usable for a request without exclusions (available and
 * not down), or -1 when there are too many servers for one 31-bit mask. Balancers compare it
 * with the mask their per-point tables were built for: health lives on the server objects and
 * is written by the health checkers directly, so reading it is the only change notice.
 */
export function usableMask(servers: readonly ServerState[]): number {
  const n = servers.length;
  if (n > 31) return -1;
  let mask = 0;
  for (let i = 0; i < n; i++) {
    const s = servers[i]!;
    if (s.available && !s.down) mask |= 1 << i;
  }
  return mask;
}
