/**
 * consistent_hash (issue 2 point 8, issue 3 point 3): key movement when the server set changes,
 * unavailable servers' keys moving away and returning exactly, weights, and bounded load.
 * Keys come from a seeded PRNG; tolerances are stated where the numbers are statistical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '../../routing/balancers/index.ts';
import type { Balancer, ServerState } from '../../routing/types.ts';
import { rng } from '../support/rng.ts';

const r = rng(2024);
const KEYS = Array.from({ length: 100_000 }, (_, i) =>
  i % 2 === 0 ? `@user${Math.floor(r() * 1e9)}:example.org` : Math.floor(r() * 2 ** 52).toString(36));

function server(name: string, weight = 1): ServerState {
  return { upstream: 'sync', name, url: `http://127.0.0.1:${8100 + Number(name.replace(/\D/g, '') || 0)}`, weight, down: false, available: true, inflight: 0 };
}

function ring(servers: readonly ServerState[], bounded?: number): Balancer {
  return createBalancer({ policy: 'consistent_hash', key: 'token_user', fallback: 'round_robin', ...(bounded ? { bounded_load: bounded } : {}) }, servers);
}

function assign(b: Balancer, keys: readonly string[] = KEYS): string[] {
  return keys.map((k) => b.pick(k)!.name);
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `synchrotron${i + 1}`);

test('adding or removing one of N servers (N = 3..8) moves 1/N of 100,000 keys, ±20%, and only those keys', () => {
  const report: string[] = [];
  for (let n = 3; n <= 8; n++) {
    const before = assign(ring(names(n).map((x) => server(x))));
    const grown = assign(ring([...names(n), `synchrotron${n + 1}`].map((x) => server(x))));
    let moved = 0;
    grown.forEach((s, i) => {
      if (s === before[i]) return;
      moved++;
      assert.equal(s, `synchrotron${n + 1}`, 'a key may only move to the new server');
    });
    const addFraction = moved / KEYS.length;
    assert.ok(Math.abs(addFraction * (n + 1) - 1) <= 0.2, `add to ${n}: moved ${addFraction}, expected ≈ ${1 / (n + 1)}`);
    const removals: string[] = [];
    for (const gone of names(n)) {
      const after = assign(ring(names(n).filter((x) => x !== gone).map((x) => server(x))));
      let m = 0;
      after.forEach((s, i) => {
        if (s === before[i]) return;
        m++;
        assert.equal(before[i], gone, 'only the removed server\'s keys may move');
      });
      assert.ok(Math.abs((m / KEYS.length) * n - 1) <= 0.2, `remove ${gone} of ${n}: moved ${m / KEYS.length}, expected ≈ ${1 / n}`);
      removals.push((m / KEYS.length).toFixed(4));
    }
    report.push(`N=${n}: add→${n + 1} ${addFraction.toFixed(4)} (1/${n + 1}=${(1 / (n + 1)).toFixed(4)}); remove each ${removals.join(' ')} (1/${n}=${(1 / n).toFixed(4)})`);
  }
  console.log(report.join('\n'));
});

test('an unavailable server\'s keys move to other servers and come back exactly on recovery', () => {
  const servers = names(5).map((x) => server(x));
  const b = ring(servers);
  const keys = KEYS.slice(0, 20_000);
  const before = assign(b, keys);
  servers[2]!.available = false;
  const during = assign(b, keys);
  const receivers = new Set<string>();
  during.forEach((s, i) => {
    if (before[i] === 'synchrotron3') receivers.add(s);
    else assert.equal(s, before[i], 'keys of healthy servers stay put');
  });
  assert.ok(!receivers.has('synchrotron3'));
  assert.equal(receivers.size, 4, 'the failed server\'s keys spread over every other server');
  // Same as a ring without the server, and the same as excluding it for a retry.
  assert.deepEqual(during, assign(ring(servers.filter((_, i) => i !== 2)), keys));
  servers[2]!.available = true;
  assert.deepEqual(assign(b, keys), before);
  assert.deepEqual(keys.map((k) => b.pick(k, new Set([servers[2]!]))!.name), during);
});

test('down servers stay on the ring but are never picked; no usable server gives null', () => {
  const servers = names(3).map((x) => server(x));
  const down = [servers[0]!, servers[1]!, { ...servers[2]!, down: true }];
  const b = ring(down);
  const keys = KEYS.slice(0, 5_000);
  assert.ok(assign(b, keys).every((s) => s !== 'synchrotron3'));
  assert.deepEqual(assign(b, keys), assign(ring(servers.slice(0, 2)), keys));
  for (const s of down) s.available = false;
  assert.equal(b.pick('anything'), null);
});

test('weights: a weight-3 server owns 3/5 of the keys (±10%); deterministic across instances', () => {
  const servers = [server('a1'), server('b2', 3), server('c3')];
  const owned = assign(ring(servers)).filter((s) => s === 'b2').length / KEYS.length;
  assert.ok(Math.abs(owned / 0.6 - 1) <= 0.1, `weight-3 share ${owned}`);
  assert.deepEqual(assign(ring(servers), KEYS.slice(0, 1000)), assign(ring(servers.map((s) => ({ ...s }))), KEYS.slice(0, 1000)));
});

test('missing or empty key uses the fallback policy', () => {
  const servers = names(3).map((x) => server(x));
  const rr = ring(servers);
  assert.deepEqual([rr.pick(null), rr.pick(''), rr.pick(null)].map((s) => s!.name), ['synchrotron1', 'synchrotron2', 'synchrotron3']);
  servers[0]!.inflight = 2; servers[1]!.inflight = 0; servers[2]!.inflight = 1;
  const lo = createBalancer({ policy: 'consistent_hash', key: 'room_id', fallback: 'least_outstanding' }, servers);
  assert.equal(lo.pick(null)?.name, 'synchrotron2');
});

/**
 * Sends `total` requests (keys from `key`), finishing a random open one 45% of the time; checks
 * the bound after every pick and returns the worst max/mean seen once ≥ 100 are in flight.
 */
function loadRun(b: Balancer, servers: ServerState[], c: number | undefined, key: (i: number) => string, total: number): number {
  const rand = rng(7);
  const open: ServerState[] = [];
  let worst = 0;
  for (let i = 0; i < total; i++) {
    if (open.length > 0 && rand() < 0.45) open.splice(Math.floor(rand() * open.length), 1)[0]!.inflight--;
    const s = b.pick(key(i))!;
    s.inflight++;
    open.push(s);
    const sum = servers.reduce((a, x) => a + x.inflight, 0);
    const max = Math.max(...servers.map((x) => x.inflight));
    if (c !== undefined) assert.ok(max <= Math.ceil((c * sum) / servers.length), `max ${max} > ceil(${c} × ${sum} / ${servers.length}) at request ${i}`);
    if (sum >= 100) worst = Math.max(worst, max / (sum / servers.length));
  }
  for (const s of servers) s.inflight = 0;
  return worst;
}

test('bounded load: no server exceeds ceil(c × mean in-flight), even for one hot key', () => {
  const servers = names(4).map((x) => server(x));
  const hot = () => '@hot:example.org';
  const unbounded = loadRun(ring(servers), servers, undefined, hot, 2000);
  assert.ok(unbounded > 3.5, `without a bound the hot key piles onto one server (max/mean ${unbounded})`);
  for (const c of [1.25, 1.5, 2]) {
    const worst = loadRun(ring(servers, c), servers, c, hot, 2000);
    assert.ok(worst <= c + 0.1, `c=${c}: max/mean ${worst}`);
    loadRun(ring(servers, c), servers, c, (i) => KEYS[i]!, 5000);
  }
});

test('bounded load keeps keys where they are while load is balanced', () => {
  const servers = names(4).map((x) => server(x));
  const keys = KEYS.slice(0, 2000);
  assert.deepEqual(assign(ring(servers, 1.25), keys), assign(ring(servers), keys));
});
