/**
 * nginx `hash $key consistent` reproduced exactly (../shared/nginx-consistent-hash.md, from
 * ngx_http_upstream_hash_module.c), so a cut-over from nginx keeps every key on the worker whose
 * caches are warm. Ring: 160 × weight CRC-32 points per server, derived from the text of its
 * nginx `server` line (host:port); `down` servers keep their points and are skipped at lookup.
 * Lookup: the first point ≥ crc32(key), walking clockwise over at most 21 points (nginx's
 * `tries > 20`), then round robin; an empty key or a single server also means round robin.
 * Differences, both edge cases: each pick starts a fresh 21-point budget (nginx spends one budget
 * across a request's retries), and a 32-bit point collision keeps the lower server index (nginx's
 * qsort order is libc-dependent).
 */
import type { Balancer, ServerState } from '../types.ts';
import { crc32, crc32Key } from '../hash.ts';
import { missingKey, usable } from './eligible.ts';
import { createFallback, type FallbackPolicy } from './fallback.ts';
import { bucketOwners, bucketTable, buildRing, landing, lowerBound, ringBuckets, usableMask, type Ring } from './ring.ts';

/** nginx gives the walk this many extra points before falling back (H: `if (hp->tries > 20)`). */
const MAX_TRIES = 20;

/** What the operator wrote after `server` in nginx: the URL without scheme and trailing slash. */
export function nginxServerName(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** Splits `host:port` as nginx does: `unix:` names and names without trailing `:digits` have no port. */
export function splitHostPort(name: string): [host: string, port: string] {
  if (name.slice(0, 5).toLowerCase() === 'unix:') return [name.slice(5), ''];
  for (let j = name.length - 1; j >= 0; j--) {
    const c = name.charCodeAt(j);
    if (c === 58) return [name.slice(0, j), name.slice(j + 1)];
    if (c < 48 || c > 57) break;
  }
  return [name, ''];
}

/** The 160 × weight points of one server: crc32(host ‖ 0x00 ‖ port ‖ le32(previous point)). */
export function nginxPoints(name: string, weight: number): number[] {
  const [host, port] = splitHostPort(name);
  const base = crc32(`${port}`, crc32(Buffer.from(`${host}\0`, 'latin1')));
  const le = Buffer.alloc(4);
  const points: number[] = [];
  let prev = 0;
  for (let j = 0; j < 160 * weight; j++) {
    le.writeUInt32LE(prev, 0);
    prev = crc32(le, base);
    points.push(prev);
  }
  return points;
}

/** The whole ring, in config order, `down` servers included (nginx counts them in total_weight). */
export function nginxRing(servers: readonly ServerState[]): Ring {
  const hashes: number[] = [];
  const owners: number[] = [];
  servers.forEach((s, owner) => {
    for (const p of nginxPoints(nginxServerName(s.url), s.weight)) {
      hashes.push(p);
      owners.push(owner);
    }
  });
  return buildRing(hashes, owners);
}

export class NginxHashBalancer implements Balancer {
  readonly policy = 'nginx_hash';
  readonly #servers: readonly ServerState[];
  readonly #ring: Ring;
  readonly #buckets: Uint32Array;
  readonly #fallback: Balancer;
  /** For each ring point, the server nginx's walk from it lands on (-1: fallback), built for #mask. */
  readonly #resolved: Int32Array;
  /** #resolved per bucket of #buckets when all its keys agree (bucketOwners), built with it. */
  readonly #bucketOwner = bucketTable();
  /** usableMask the #resolved table was built for; -2 = never built. */
  #mask = -2;

  constructor(servers: readonly ServerState[], fallback: FallbackPolicy) {
    this.#servers = servers;
    this.#ring = nginxRing(servers);
    this.#buckets = ringBuckets(this.#ring.hashes);
    this.#resolved = new Int32Array(this.#ring.hashes.length);
    this.#fallback = createFallback(fallback, servers);
  }

  /** nginx's choice for `key` (wire bytes as nginx sees them); fallback when no key, one server, or 21 unusable points. */
  pick(key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null {
    if (missingKey(key) || this.#servers.length === 1) return this.#fallback.pick(null, exclude);
    const mask = exclude === undefined ? usableMask(this.#servers) : -1;
    if (mask < 0) return this.#walk(key, exclude);
    if (mask !== this.#mask) this.#resolve(mask);
    const owner = landing(crc32Key(key), this.#ring, this.#buckets, this.#bucketOwner, this.#resolved);
    return owner < 0 ? this.#fallback.pick(null, undefined) : this.#servers[owner]!;
  }

  /** The walk itself: at most MAX_TRIES + 1 points clockwise from the key's, then the fallback. */
  #walk(key: string, exclude: ReadonlySet<ServerState> | undefined): ServerState | null {
    const owner = this.#walkFrom(lowerBound(this.#ring.hashes, crc32Key(key)), exclude);
    return owner < 0 ? this.#fallback.pick(null, exclude) : this.#servers[owner]!;
  }

  /** Index of the server the walk from point `start` lands on, or -1 after MAX_TRIES + 1 unusable points. */
  #walkFrom(start: number, exclude: ReadonlySet<ServerState> | undefined): number {
    const { hashes, owners } = this.#ring;
    for (let tries = 0; tries <= MAX_TRIES; tries++) {
      const owner = owners[(start + tries) % hashes.length]!;
      if (usable(this.#servers[owner]!, exclude)) return owner;
    }
    return -1;
  }

  /** Rebuilds #resolved for the servers usable now (`mask`): the walk from every point. */
  #resolve(mask: number): void {
    for (let i = 0; i < this.#resolved.length; i++) this.#resolved[i] = this.#walkFrom(i, undefined);
    bucketOwners(this.#buckets, this.#resolved, this.#bucketOwner);
    this.#mask = mask;
  }
}
