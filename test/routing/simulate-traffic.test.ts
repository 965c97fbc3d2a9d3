/**
 * The traffic model of `gateway simulate` (issue 6, point 1): seeded and reproducible, Zipf
 * activity, the mix's shares, Synapse-format tokens, both room-ID spellings, X-Matrix origins.
 * Distribution checks use 1e5 draws with stated tolerances.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ConfigError } from '../../config/errors.ts';
import { CATEGORIES, DEFAULT_MIX, loadMixFile } from '../../routing/simulate/mix.ts';
import { createRng, createZipf } from '../../routing/simulate/prng.ts';
import { createTrafficModel, type GeneratedRequest } from '../../routing/simulate/traffic.ts';
import { base62 } from '../../routing/simulate/world.ts';
import { accessToken, roomId, sytLocalpart } from '../../routing/keys.ts';

const model = (seed: string | number = 7, extra = {}) => createTrafficModel({ users: 2000, rooms: 500, origins: 40, seed, ...extra });
const draw = (n: number, seed: string | number = 7): GeneratedRequest[] => {
  const m = model(seed);
  return Array.from({ length: n }, () => m.next());
};

describe('seeded randomness', () => {
  it('repeats the same stream for the same seed and differs for another', () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 100 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it('draws Zipf ranks with the expected frequencies (±10 % relative for the top ranks)', () => {
    const z = createZipf(1000, 1), rng = createRng('zipf');
    const counts = new Float64Array(1000);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[z.sample(rng)]!++;
    for (const rank of [0, 1, 2, 5, 10]) {
      const expected = z.probability(rank) * n;
      assert.ok(Math.abs(counts[rank]! - expected) < expected * 0.1, `rank ${rank}: ${counts[rank]} vs ${expected.toFixed(0)}`);
    }
    // Heavy tail: the top 1 % of ranks get far more than 1 % of the draws (≈ 39 % for s = 1, n = 1000).
    const top = counts.slice(0, 10).reduce((s, x) => s + x, 0) / n;
    assert.ok(top > 0.35 && top < 0.43, `top-10 share ${top}`);
  });
});

describe('traffic model', () => {
  it('is reproducible from the seed', () => {
    assert.deepEqual(draw(500, 's'), draw(500, 's'));
    assert.notDeepEqual(draw(50, 's'), draw(50, 't'));
  });

  it('follows the default mix within ±0.5 percentage points over 1e5 requests', () => {
    const counts = new Map<string, number>();
    for (const r of draw(100_000)) counts.set(r.category, (counts.get(r.category) ?? 0) + 1);
    for (const c of CATEGORIES) {
      const share = (counts.get(c) ?? 0) / 100_000;
      assert.ok(Math.abs(share - DEFAULT_MIX[c]) < 0.005, `${c}: ${share} vs ${DEFAULT_MIX[c]}`);
    }
  });

  it('sends Synapse-format tokens, in the header or the access_token parameter, with a valid CRC', () => {
    const syncs = draw(5000).filter((r) => r.category === 'sync');
    let header = 0, query = 0;
    for (const { req } of syncs) {
      if (req.headers.authorization) header++;
      if (req.query.includes('access_token=')) query++;
      const token = accessToken(req)!;
      const m = /^syt_([A-Za-z0-9+/]+)_([A-Za-z]{20})_([0-9A-Za-z]{6,})$/.exec(token);
      assert.ok(m, token);
      const base = token.slice(0, token.lastIndexOf('_'));
      assert.equal(m[3], base62(crc32(base), 6), 'CRC-32 in base62');
      assert.match(Buffer.from(sytLocalpart(token)!, 'base64').toString(), /^[a-z]+\.[0-9a-z]+$/);
      assert.match(req.query, /(^|&)since=s\d+_/);
    }
    assert.ok(header > syncs.length * 0.3 && query > syncs.length * 0.3, `header ${header}, query ${query}`);
  });

  it('keeps each sync on its user group, and spells room IDs raw and percent-encoded', () => {
    const m = model();
    let raw = 0, encoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = m.next();
      if (r.category === 'sync') {
        const g = m.group(r.sticky);
        assert.equal(g.kind, 'user_sync');
        assert.equal(Buffer.from(sytLocalpart(accessToken(r.req)!)!, 'base64').toString(), g.key);
      }
      if (r.category === 'event_send' && r.sticky >= 0) {
        assert.equal(m.group(r.sticky).kind, 'room_send');
        assert.equal(roomId(r.req), m.group(r.sticky).key);
        if (r.req.path.includes('/rooms/!')) raw++;
        if (r.req.path.includes('/rooms/%21')) encoded++;
      }
    }
    assert.ok(raw > 100 && encoded > raw * 2, `raw ${raw}, encoded ${encoded}`);
  });

  it('sends federation transactions with an X-Matrix origin from that origin\'s addresses', () => {
    const m = model();
    const ips = new Map<string, Set<string>>();
    for (let i = 0; i < 20_000; i++) {
      const r = m.next();
      if (r.category !== 'federation') continue;
      assert.equal(r.req.method, 'PUT');
      assert.match(r.req.path, /^\/_matrix\/federation\/v1\/send\/[^/]+$/);
      const origin = /origin="([^"]+)"/.exec(String(r.req.headers.authorization))![1]!;
      assert.equal(origin, m.group(r.sticky).key);
      const set = ips.get(origin) ?? new Set();
      set.add(r.req.sourceIp);
      ips.set(origin, set);
    }
    assert.ok(ips.size > 20);
    assert.ok([...ips.values()].some((s) => s.size > 1), 'some origins send from several addresses');
    const all = [...ips.values()].flatMap((s) => [...s]);
    assert.equal(new Set(all).size, all.length, 'no address is shared by two origins');
  });
});

describe('mix files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mix-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads YAML or JSON, normalises, and leaves unnamed categories at 0', () => {
    const mix = loadMixFile(file('a.yaml', 'sync: 60\nevent_send: 40\n'));
    assert.equal(mix.sync, 0.6);
    assert.equal(mix.event_send, 0.4);
    assert.equal(mix.federation, 0);
    assert.deepEqual(loadMixFile(file('b.json', '{"sync": 0.6, "event_send": 0.4}')), mix);
    const m = createTrafficModel({ users: 10, rooms: 10, origins: 2, seed: 1, mix });
    for (let i = 0; i < 2000; i++) assert.ok(['sync', 'event_send'].includes(m.next().category));
  });

  it('rejects unknown categories with a did-you-mean hint and a position', () => {
    assert.throws(() => loadMixFile(file('c.yaml', 'sync: 50\nfederaton: 5\n')),
      (e: unknown) => e instanceof ConfigError && /c\.yaml:2:1/.test(e.message) && /did you mean 'federation'/.test(e.message));
  });

  it('rejects negative and non-numeric shares, and an all-zero mix', () => {
    assert.throws(() => loadMixFile(file('d.yaml', 'sync: -1\n')), (e: unknown) => e instanceof ConfigError && /d\.yaml:1:7.*negative/.test(e.message));
    assert.throws(() => loadMixFile(file('e.yaml', 'sync: lots\n')), (e: unknown) => e instanceof ConfigError && /number/.test(e.message));
    assert.throws(() => loadMixFile(file('f.yaml', 'sync: 0\n')), /no traffic/);
    assert.throws(() => loadMixFile(file('g.yaml', '- sync\n')), /map of category to share/);
    assert.throws(() => loadMixFile(join(dir, 'missing.yaml')), /file not found/);
  });
});
