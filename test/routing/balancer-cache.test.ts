/**
 * The per-point tables of the hashed balancers (consistent_hash, nginx_hash): a pick without
 * exclusions reads a table built for the current availability of the servers, and the table is
 * rebuilt when that availability changes. These tests compare every such pick with an
 * independent walk of the ring (zlib's CRC-32, binary search, clockwise scan) through random
 * health changes, so a stale table or a wrong wrap-around fails them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { createBalancer } from '../../routing/balancers/index.ts';
import { consistentRing } from '../../routing/balancers/consistent-hash.ts';
import { nginxRing } from '../../routing/balancers/nginx-hash.ts';
import { bucketOf, bucketOwners, bucketTable, lowerBound, MIXED_BUCKET, ringBuckets, type Ring } from '../../routing/balancers/ring.ts';
import { crc32Key, fmix32 } from '../../routing/hash.ts';
import type { Balancer, ServerState } from '../../routing/types.ts';
import { Prng } from './property-gen.ts';

function server(i: number, weight = 1, down = false): ServerState {
  return { upstream: 'u', name: `s${i}`, url: `http://127.0.0.1:${8100 + i}`, weight, down, available: true, inflight: 0 };
}

/** Keys as the extractors produce them: ASCII mostly, some latin1 (raw header bytes), some wider. */
function keys(rng: Prng, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const base = `k${rng.below(1e9)}_${i}`;
    if (i % 50 === 0) return `${base}\u00e9\u00ff`;
    if (i % 77 === 0) return `${base}\u2603`;
    return base;
  });
}

function wireCrc(key: string): number {
  const latin1 = [...key].every((c) => c.charCodeAt(0) <= 0xff);
  return zlibCrc32(Buffer.from(key, latin1 ? 'latin1' : 'utf8'));
}

const usableNow = (s: ServerState): boolean => s.available && !s.down;

/** Reference: the first usable server clockwise from the key's point, at most `tries` points (all when undefined). */
function walk(ring: Ring, servers: readonly ServerState[], h: number, tries?: number): ServerState | null {
  const start = lowerBound(ring.hashes, h);
  const n = ring.hashes.length;
  for (let step = 0; step < (tries ?? n); step++) {
    const s = servers[ring.owners[(start + step) % n]!]!;
    if (usableNow(s)) return s;
  }
  return null;
}

function flipHealth(rng: Prng, servers: readonly ServerState[]): void {
  const s = servers[rng.below(servers.length)]!;
  s.available = !s.available;
}

test('crc32Key equals zlib CRC-32 of the wire bytes (ASCII, latin1, wider than latin1)', () => {
  const rng = new Prng(7);
  for (const k of [...keys(rng, 5_000), '', '\u00ff', '\u0100', 'a\ud83d\ude00b']) assert.equal(crc32Key(k), wireCrc(k), JSON.stringify(k));
});

test('consistent_hash: cached picks equal a fresh ring walk through 200 random health changes', () => {
  const rng = new Prng(11);
  const servers = [server(1), server(2, 2), server(3), server(4, 1, true), server(5)];
  const b: Balancer = createBalancer({ policy: 'consistent_hash', key: 'room_id', fallback: 'round_robin' }, servers);
  const ring = consistentRing(servers);
  const ks = keys(rng, 2_000);
  for (let change = 0; change < 200; change++) {
    for (const k of ks) assert.equal(b.pick(k), walk(ring, servers, fmix32(wireCrc(k))), `change ${change}, key ${k}`);
    flipHealth(rng, servers);
  }
});

test('consistent_hash: an unavailable server\'s keys move to other servers and come back exactly', () => {
  const servers = [server(1), server(2), server(3)];
  const b = createBalancer({ policy: 'consistent_hash', key: 'room_id', fallback: 'round_robin' }, servers);
  const ks = keys(new Prng(3), 10_000);
  const before = ks.map((k) => b.pick(k));
  servers[1]!.available = false;
  const during = ks.map((k) => b.pick(k));
  during.forEach((s, i) => {
    assert.notEqual(s, servers[1]);
    if (before[i] !== servers[1]) assert.equal(s, before[i], 'only the unavailable server\'s keys move');
  });
  assert.ok(during.filter((s, i) => s !== before[i]).length > 2_000, 'about a third of the keys moved');
  servers[1]!.available = true;
  assert.deepEqual(ks.map((k) => b.pick(k)), before);
  for (const s of servers) s.available = false;
  assert.equal(b.pick('any'), null, 'nothing usable: null');
});

test('nginx_hash: cached picks equal nginx\'s 21-point walk through 200 random health changes', () => {
  const rng = new Prng(13);
  const servers = [server(1), server(2, 3), server(3, 1, true), server(4)];
  const b = createBalancer({ policy: 'nginx_hash', key: 'token_user', fallback: 'round_robin' }, servers);
  const ring = nginxRing(servers);
  const ks = keys(rng, 2_000);
  for (let change = 0; change < 200; change++) {
    for (const k of ks) {
      const expected = walk(ring, servers, wireCrc(k), 21);
      const got = b.pick(k);
      if (expected !== null) assert.equal(got, expected, `change ${change}, key ${k}`);
      else assert.equal(got === null ? null : usableNow(got), servers.some(usableNow) ? true : null, 'fallback: a usable server, or null');
    }
    flipHealth(rng, servers);
  }
});

test('bucket owners: a bucket that answers alone agrees with the ring search for every hash, edges included', () => {
  const rng = new Prng(17);
  let alone = 0;
  for (let round = 0; round < 20; round++) {
    const servers = Array.from({ length: 1 + rng.below(6) }, (_, i) => server(i, 1 + rng.below(3)));
    const ring = rng.chance(0.5) ? consistentRing(servers) : nginxRing(servers);
    const n = ring.hashes.length;
    // Any per-point answers will do; runs of equal answers make the one-owner buckets.
    const resolved = Int32Array.from(ring.owners, (o) => (rng.chance(0.1) ? -1 : o));
    const buckets = ringBuckets(ring.hashes);
    const owners = bucketTable();
    bucketOwners(buckets, resolved, owners);
    for (let b = 0; b < owners.length; b++) {
      if (owners[b] === MIXED_BUCKET) continue;
      alone++;
      const lo = b * 2 ** 20;
      for (const h of [lo, lo + 1, lo + rng.below(2 ** 20), lo + 2 ** 20 - 1]) {
        assert.equal(bucketOf(h), b);
        const start = lowerBound(ring.hashes, h);
        assert.equal(owners[b], resolved[start === n ? 0 : start], `round ${round}, hash ${h}`);
      }
    }
  }
  assert.ok(alone > 10_000, `buckets that answer alone were checked (${alone})`);
});
