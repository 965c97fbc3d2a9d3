/**
 * A sorted ring of 32-bit points, each owned by a server index: the shared structure behind the
 * consistent_hash and nginx_hash balancers.
 */

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
