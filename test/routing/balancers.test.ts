/**
 * Round robin, least outstanding and Synapse-shard balancers (issue 2 point 8; issue 3 point 3:
 * every balancer skips unavailable servers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createBalancer } from '../../routing/balancers/index.ts';
import type { ServerState } from '../../routing/types.ts';

function server(name: string, weight = 1, down = false): ServerState {
  return { upstream: 'u', name, url: `http://127.0.0.1:${8000 + name.length}`, weight, down, available: true, inflight: 0 };
}

function picks(n: number, pick: () => ServerState | null): string {
  return Array.from({ length: n }, () => pick()?.name ?? '-').join('');
}

test('round_robin: smooth weighted sequence is exact over each cycle (nginx 5,1,1 → aabacaa)', () => {
  const b = createBalancer({ policy: 'round_robin' }, [server('a', 5), server('b'), server('c')]);
  assert.equal(picks(14, () => b.pick(null)), 'aabacaaaabacaa');
  const w = createBalancer({ policy: 'round_robin' }, [server('x', 3), server('y', 2), server('z', 1)]);
  const counts = new Map<string, number>();
  for (const ch of picks(600, () => w.pick('ignored'))) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(counts), { x: 300, y: 200, z: 100 });
});

test('round_robin: skips unavailable, down and excluded servers; null when none is left', () => {
  const servers = [server('a'), server('b'), server('c', 1, true)];
  const b = createBalancer({ policy: 'round_robin' }, servers);
  assert.equal(picks(4, () => b.pick(null)), 'abab');
  servers[1]!.available = false;
  assert.equal(picks(3, () => b.pick(null)), 'aaa');
  assert.equal(b.pick(null, new Set([servers[0]!])), null);
  servers[1]!.available = true;
  assert.equal(b.pick(null, new Set([servers[0]!]))?.name, 'b');
});

test('least_outstanding: fewest in flight relative to weight wins', () => {
  const [a, b, c] = [server('a'), server('b', 2), server('c')];
  const lo = createBalancer({ policy: 'least_outstanding' }, [a, b, c]);
  a.inflight = 3; b.inflight = 4; c.inflight = 1;
  assert.equal(lo.pick(null)?.name, 'c'); // 1/1 < 4/2 < 3/1
  c.inflight = 5;
  assert.equal(lo.pick(null)?.name, 'b'); // 4/2 = 2 < 3 < 5
  b.available = false;
  assert.equal(lo.pick(null)?.name, 'a');
  assert.equal(lo.pick(null, new Set([a])), c);
});

test('least_outstanding: ties share by smooth weighted round robin, deterministically', () => {
  const servers = [server('a'), server('b'), server('c', 2)];
  const lo = createBalancer({ policy: 'least_outstanding' }, servers);
  assert.equal(picks(8, () => lo.pick(null)), 'cabccabc');
  // Simulated load: the picked server holds its request until later; the spread follows the weights.
  for (const s of servers) s.inflight = 0;
  const lo2 = createBalancer({ policy: 'least_outstanding' }, servers);
  const seen = picks(8, () => { const s = lo2.pick(null)!; s.inflight++; return s; });
  assert.deepEqual([...seen].sort().join(''), 'aabbcccc');
});

/** Synapse's rule, computed independently with BigInt: int.from_bytes(sha256(key), 'little') % n. */
function synapseIndex(key: string, n: number): number {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  const big = BigInt('0x' + Buffer.from(digest).reverse().toString('hex'));
  return Number(big % BigInt(n));
}

test('synapse_shard: sha256 little-endian modulo the writer count, in config order', () => {
  for (let n = 1; n <= 7; n++) {
    const servers = Array.from({ length: n }, (_, i) => server(`persister${i}`));
    const b = createBalancer({ policy: 'synapse_shard', key: 'room_id', fallback: 'round_robin' }, servers);
    for (let i = 0; i < 500; i++) {
      const room = i % 5 === 0 ? `!${'x'.repeat(i % 43)}${i}:ex.org` : `!room${i}:example.org`;
      assert.equal(b.pick(room), servers[synapseIndex(room, n)], `${room} over ${n}`);
    }
  }
  // Worked by hand: sha256("!room:example.org") read little-endian, mod 2 and mod 3.
  const digest = createHash('sha256').update('!room:example.org').digest();
  const big = [...digest].reduceRight((acc, byte) => acc * 256n + BigInt(byte), 0n);
  const two = createBalancer({ policy: 'synapse_shard', key: 'room_id', fallback: 'round_robin' }, [server('p0'), server('p1')]);
  assert.equal(two.pick('!room:example.org')?.name, `p${big % 2n}`);
  assert.equal(big % 2n, BigInt(digest[0]! & 1)); // the least significant bit lives in byte 0
});

test('synapse_shard: repeated keys (cached) keep their owner, across more keys than the cache holds', () => {
  const servers = [server('p0'), server('p1'), server('p2'), server('p3'), server('p4')];
  const b = createBalancer({ policy: 'synapse_shard', key: 'room_id', fallback: 'round_robin' }, servers);
  const rooms = Array.from({ length: 20_000 }, (_, i) => `!busy${i}:example.org`);
  for (let round = 0; round < 2; round++) {
    for (const room of rooms.filter((_, i) => i % 97 === round)) assert.equal(b.pick(room), servers[synapseIndex(room, 5)]);
    for (const room of rooms) b.pick(room);
  }
});

test('synapse_shard: non-ASCII keys hash as UTF-8, as Python key.encode("utf8")', () => {
  const servers = [server('p0'), server('p1'), server('p2')];
  const b = createBalancer({ policy: 'synapse_shard', key: 'room_id', fallback: 'round_robin' }, servers);
  for (const room of ['!é:example.org', '!日本:example.org', '!😀:x']) assert.equal(b.pick(room), servers[synapseIndex(room, 3)]);
});

test('synapse_shard: an unavailable owner gives null (only it may persist); no key uses the fallback', () => {
  const servers = [server('p0'), server('p1'), server('p2', 1, true)];
  const b = createBalancer({ policy: 'synapse_shard', key: 'room_id', fallback: 'round_robin' }, servers);
  const rooms = Array.from({ length: 60 }, (_, i) => `!r${i}:example.org`);
  for (const room of rooms) {
    const owner = servers[synapseIndex(room, 3)]!; // the modulus counts the down server too
    assert.equal(b.pick(room), owner.down ? null : owner);
  }
  servers[0]!.available = false;
  for (const room of rooms.filter((r) => synapseIndex(r, 3) === 0)) assert.equal(b.pick(room), null);
  servers[0]!.available = true;
  assert.equal(picks(4, () => b.pick(null)), 'p0p1p0p1');
});

test('createBalancer rejects an empty server list', () => {
  assert.throws(() => createBalancer({ policy: 'round_robin' }, []), /at least one server/);
});
