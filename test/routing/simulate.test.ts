/**
 * `gateway simulate` end to end on real compiled tables (issue 6, point 1): shares, imbalance,
 * stickiness that can fail, and membership changes whose key movement matches what consistent
 * hashing promises. 1e5 requests per run; tolerances are stated beside each check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadRoutesFile } from '../../config/routes.ts';
import { compileTable } from '../../routing/table.ts';
import { runSimulation } from '../../routing/simulate/engine.ts';
import { SimulateError } from '../../routing/simulate/errors.ts';
import { applyMembership, parseAdd } from '../../routing/simulate/membership.ts';
import { createTrafficModel } from '../../routing/simulate/traffic.ts';
import { simulateFile, type SimulateOptions } from '../../routing/simulate/index.ts';
import type { SimulationReport } from '../../routing/simulate/summary.ts';

const dir = mkdtempSync(join(tmpdir(), 'simulate-'));

/** A deployment shaped like the worker docs', with policies chosen per test. */
function routesFile(name: string, opts: { syncBalance?: string; fedKey?: string } = {}): string {
  const file = join(dir, name);
  writeFileSync(file, `
upstreams:
  main: { servers: [{ name: main, url: "http://127.0.0.1:8080" }] }
  sync:
    servers:
      - { name: sync1, url: "http://127.0.0.1:8101" }
      - { name: sync2, url: "http://127.0.0.1:8102" }
      - { name: sync3, url: "http://127.0.0.1:8103" }
      - { name: sync4, url: "http://127.0.0.1:8104" }
    balance: ${opts.syncBalance ?? '{ policy: consistent_hash, key: token_user }'}
  initial:
    servers: [{ name: initial1, url: "http://127.0.0.1:8111" }, { name: initial2, url: "http://127.0.0.1:8112" }]
    balance: { policy: nginx_hash, key: token_user }
  event:
    servers: [{ name: event1, url: "http://127.0.0.1:8121" }, { name: event2, url: "http://127.0.0.1:8122" }]
    balance: { policy: consistent_hash, key: room_id }
  client:
    servers: [{ name: client1, url: "http://127.0.0.1:8131" }, { name: client2, url: "http://127.0.0.1:8132" }, { name: client3, url: "http://127.0.0.1:8133" }]
  federation:
    servers: [{ name: fed1, url: "http://127.0.0.1:8141" }, { name: fed2, url: "http://127.0.0.1:8142" }]
    balance: { policy: consistent_hash, key: ${opts.fedKey ?? 'federation_origin'} }
routes:
  - { name: initial-sync, match: { paths: ['^/_matrix/client/(r0|v3)/sync$'], query: { since: absent_or_empty } }, upstream: initial }
  - { name: legacy-initial, match: { paths: ['^/_matrix/client/(api/v1|r0|v3)/(rooms/[^/]+/)?initialSync$'] }, upstream: initial }
  - { name: sync, match: { paths: ['^/_matrix/client/(r0|v3)/sync$'] }, upstream: sync }
  - { name: fed-send, match: { paths: ['^/_matrix/federation/v1/send/'] }, upstream: federation }
  - { name: rooms, match: { paths: ['^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/[^/]+/(send|state|redact|join|leave|messages)'] }, upstream: event }
  - { name: client, match: { paths: ['^/_matrix/client/(r0|v3)/(keys/query|profile/|joined_rooms|capabilities|account/whoami|devices$|publicRooms)'] }, upstream: client }
default_upstream: main
`);
  return file;
}

const base = (routes: string, extra: Partial<SimulateOptions> = {}): SimulationReport =>
  simulateFile({ routes, users: 3000, rooms: 600, origins: 60, requests: 100_000, seed: 'test', ...extra });
const upstream = (r: SimulationReport, name: string, scenario = 0) => r.scenarios[scenario]!.upstreams.find((u) => u.name === name)!;
const sticky = (r: SimulationReport, kind: string, scenario = 0) => r.scenarios[scenario]!.stickiness.find((s) => s.kind === kind)!;

describe('gateway simulate: shares and stickiness', () => {
  const report = base(routesFile('good.yaml'));
  const s = report.scenarios[0]!;

  it('routes every request and accounts for it once', () => {
    assert.equal(s.routed + s.denied + s.unavailable, 100_000);
    assert.equal(s.routed, 100_000);
    const perServer = s.upstreams.flatMap((u) => u.servers).reduce((sum, x) => sum + x.requests, 0);
    assert.equal(perServer, 100_000);
    assert.ok(Math.abs(s.upstreams.reduce((sum, u) => sum + u.share, 0) - 1) < 1e-9);
  });

  it('sends each category where the routes say (exactly) and the mix says (±0.6 points)', () => {
    const cat = (c: string) => s.categories.find((x) => x.category === c)!;
    assert.deepEqual(Object.keys(cat('sync').upstreams), ['sync']);
    assert.deepEqual(Object.keys(cat('initial_sync').upstreams), ['initial']);
    assert.deepEqual(Object.keys(cat('federation').upstreams), ['federation']);
    assert.deepEqual(Object.keys(cat('pagination').upstreams), ['event']);
    assert.ok(Math.abs(upstream(report, 'sync').share - 0.55) < 0.006, `sync share ${upstream(report, 'sync').share}`);
  });

  it('balances round robin evenly (imbalance < 1.001) and reports hashed pools\' max/mean', () => {
    assert.ok(upstream(report, 'client').imbalance < 1.001, String(upstream(report, 'client').imbalance));
    const sync = upstream(report, 'sync');
    const counts = sync.servers.map((x) => x.requests);
    const expected = Math.max(...counts) / (counts.reduce((a, b) => a + b, 0) / counts.length);
    assert.equal(sync.imbalance, expected);
    assert.ok(sync.imbalance > 1 && sync.imbalance < 2, String(sync.imbalance));
  });

  it('finds every documented affinity sticky under hashing policies', () => {
    for (const kind of ['user_sync', 'user_initial_sync', 'room_send', 'room_pagination', 'origin_federation']) {
      const k = sticky(report, kind);
      assert.equal(k.violations, 0, `${kind}: ${k.examples.join(' ')}`);
      assert.ok(k.keys > 40, `${kind} had ${k.keys} keys`);
    }
  });

  it('reports users split across sync workers when sync is round robin', () => {
    const rr = base(routesFile('rr.yaml', { syncBalance: '{ policy: round_robin }' }));
    const k = sticky(rr, 'user_sync');
    // Zipf activity: most active users send many syncs; round robin spreads nearly all of them.
    assert.ok(k.violations > k.keys * 0.3, `${k.violations} of ${k.keys}`);
    assert.equal(k.examples.length, 5);
  });

  it('reports origins split when federation is keyed on source IP and origins send from several IPs', () => {
    const byIp = base(routesFile('ip.yaml', { fedKey: 'source_ip' }));
    const k = sticky(byIp, 'origin_federation');
    // About 20 % of origins have 2-3 addresses; each of those splits with probability ≥ 1/2.
    assert.ok(k.violations >= 2 && k.violations <= k.keys * 0.3, `${k.violations} of ${k.keys}`);
  });

  it('is deterministic for a seed', () => {
    const again = base(routesFile('good.yaml'));
    assert.deepEqual({ ...again, elapsedMs: 0, cpuMs: 0, requestsPerSecond: 0 }, { ...report, elapsedMs: 0, cpuMs: 0, requestsPerSecond: 0 });
  });
});

describe('gateway simulate: weighted pools', () => {
  const file = join(dir, 'weighted.yaml');
  writeFileSync(file, `
upstreams:
  main: { servers: [{ name: main, url: "http://127.0.0.1:8080" }] }
  sync:
    balance: { policy: consistent_hash, key: token_user }
    servers:
      - { name: big, url: "http://127.0.0.1:8101", weight: 3 }
      - { name: small, url: "http://127.0.0.1:8102", weight: 1 }
  rr:
    servers:
      - { name: rbig, url: "http://127.0.0.1:8111", weight: 3 }
      - { name: rsmall, url: "http://127.0.0.1:8112", weight: 1 }
      - { name: rgone, url: "http://127.0.0.1:8113", weight: 5, down: true }
routes:
  - { name: sync, match: { groups: [sync] }, upstream: sync }
  - { name: send, match: { groups: [event_sending] }, upstream: rr }
`);

  it('measures imbalance against the weights: a 3:1 pool split 75/25 is balanced', () => {
    const r = base(file);
    const rr = upstream(r, 'rr');
    const [big, small] = rr.servers;
    assert.equal(big!.weight, 3);
    assert.ok(Math.abs(big!.poolShare - 0.75) < 0.001, `rbig ${big!.poolShare}`);
    assert.ok(Math.abs(small!.poolShare - 0.25) < 0.001, `rsmall ${small!.poolShare}`);
    assert.ok(rr.imbalance < 1.01, `weighted round robin imbalance ${rr.imbalance} (the down server's weight 5 is left out)`);
    // The hashed pool: max(nᵢ/wᵢ) / (Σn/Σw), the same for keys.
    const sync = upstream(r, 'sync');
    const per = (f: (x: (typeof sync.servers)[number]) => number) =>
      Math.max(...sync.servers.map((x) => f(x) / x.weight)) / (sync.servers.reduce((a, x) => a + f(x), 0) / 4);
    assert.equal(sync.imbalance, per((x) => x.requests));
    assert.equal(sync.keyImbalance, per((x) => x.keys));
    assert.ok(sync.keyImbalance < 1.2, `key imbalance ${sync.keyImbalance}`);
  });
});

describe('gateway simulate: membership changes', () => {
  const file = routesFile('members.yaml');

  it('--down moves exactly the down server\'s keys, spread over the others, and no other key', () => {
    const r = base(file, { down: ['sync2'] });
    const before = upstream(r, 'sync', 0).servers.find((x) => x.name === 'sync2')!;
    const after = upstream(r, 'sync', 1).servers.find((x) => x.name === 'sync2')!;
    assert.ok(before.requests > 0);
    assert.equal(after.requests, 0);
    assert.equal(after.down, true);
    const m = r.movement!;
    assert.ok(m.matrix.length >= 2, 'keys spread over more than one survivor');
    for (const cell of m.matrix) assert.equal(cell.from, 'sync/sync2');
    const users = m.byKind.find((k) => k.kind === 'user_sync')!;
    assert.equal(m.moved, users.moved, 'only sync keys moved');
    // About a quarter of the users were on sync2 (4 servers, 160 virtual nodes each): ±10 points.
    assert.ok(Math.abs(users.moved / users.keys - 0.25) < 0.1, `${users.moved}/${users.keys}`);
    assert.equal(sticky(r, 'user_sync', 1).violations, 0);
  });

  it('--add takes about 1/(N+1) of the pool\'s keys, all from old servers to the new one', () => {
    const r = base(file, { add: ['event=event3@http://127.0.0.1:8123'] });
    const m = r.movement!;
    for (const cell of m.matrix) assert.equal(cell.to, 'event/event3');
    const sends = m.byKind.find((k) => k.kind === 'room_send')!;
    assert.ok(Math.abs(sends.moved / sends.keys - 1 / 3) < 0.12, `${sends.moved}/${sends.keys}`);
    assert.equal(upstream(r, 'event', 1).servers.length, 3);
    assert.equal(m.byKind.find((k) => k.kind === 'user_sync')!.moved, 0);
  });

  it('copies decisions for unchanged upstreams exactly as deciding them again would', () => {
    const config = loadRoutesFile(file).config;
    const after = applyMembership(config, ['sync3'], [parseAdd('event=event3@http://127.0.0.1:8123')]);
    const model = () => createTrafficModel({ users: 1000, rooms: 200, origins: 20, seed: 'reuse' });
    const fast = runSimulation(model(), [{ label: 'before', table: compileTable(config) },
      { label: 'after', table: compileTable(after), changed: new Set(['sync', 'event']) }], 30_000);
    const slow = runSimulation(model(), [{ label: 'before', table: compileTable(config) },
      { label: 'after', table: compileTable(after) }], 30_000);
    const { groupServer: g1, groupViolated: v1, serverRequests: r1, categoryUpstream: c1 } = fast.scenarios[1]!;
    const { groupServer: g2, groupViolated: v2, serverRequests: r2, categoryUpstream: c2 } = slow.scenarios[1]!;
    assert.deepEqual([g1, v1, r1, c1], [g2, v2, r2, c2]);
  });

  it('--down may name a server --add brings in (added down: nothing moves to it)', () => {
    const r = base(file, { add: ['event=event3@http://127.0.0.1:8123'], down: ['event3'], requests: 20_000 });
    const added = upstream(r, 'event', 1).servers.find((x) => x.name === 'event3')!;
    assert.equal(added.down, true);
    assert.equal(added.requests, 0);
    assert.equal(r.movement!.moved, 0);
  });

  it('rejects unknown, ambiguous or malformed changes with a hint', () => {
    assert.throws(() => base(file, { down: ['snyc2'], requests: 10 }), (e: unknown) => e instanceof SimulateError && e.code === 'unknown_server' && /did you mean 'sync2'/.test(e.message));
    assert.throws(() => base(file, { add: ['evnt=e3@http://127.0.0.1:1'], requests: 10 }), (e: unknown) => e instanceof SimulateError && /did you mean 'event'/.test(e.message));
    assert.throws(() => base(file, { add: ['event=event1@http://127.0.0.1:1'], requests: 10 }), (e: unknown) => e instanceof SimulateError && e.code === 'duplicate_server');
    assert.throws(() => base(file, { add: ['event:event3'], requests: 10 }), (e: unknown) => e instanceof SimulateError && e.code === 'bad_membership_change');
    assert.throws(() => base(file, { add: ['event=e3@ftp://x'], requests: 10 }), /expected http/);
  });
});

describe('gateway simulate CLI', () => {
  const node = process.execPath;
  const run = promisify(execFile);
  const file = routesFile('cli.yaml');

  it('prints the JSON report and writes the HTML report', async () => {
    const html = join(dir, 'out.html');
    const { stdout } = await run(node, ['gateway/cli.ts', 'simulate', '--routes', file, '--requests', '20000', '--users', '500', '--seed', '9', '--down', 'event1', '--json', '--report', html]);
    const r = JSON.parse(stdout) as SimulationReport;
    assert.equal(r.options.requests, 20000);
    assert.equal(r.scenarios.length, 2);
    assert.ok(r.movement && r.movement.moved > 0);
    assert.ok(r.elapsedMs >= 0);
  });

  it('prints text with shares, imbalance, stickiness and the elapsed time', async () => {
    const { stdout } = await run(node, ['gateway/cli.ts', 'simulate', '--routes', file, '--requests', '5000']);
    assert.match(stdout, /elapsed \d+\.\d\d s \(CPU \d+\.\d\d s\)/);
    assert.match(stdout, /imbalance/);
    assert.match(stdout, /user_sync\s+[\d,]+\s+0/);
  });

  it('refuses an unwritable --report before simulating (exit 2, no stack trace)', async () => {
    const started = performance.now();
    for (const bad of ['/nonexistent/dir/x.html', dir]) {
      await assert.rejects(run(node, ['gateway/cli.ts', 'simulate', '--routes', file, '--requests', '20000000', '--report', bad]),
        (e: { code: number; stderr: string; stdout: string }) => e.code === 2 && /^gateway simulate: --report .*: cannot write there \((no such directory|is a directory)\)\n$/.test(e.stderr) && e.stdout === '');
    }
    assert.ok(performance.now() - started < 10_000, 'refused before 20 million requests were simulated');
  });

  it('exits 1 on a bad mix file and 2 on a bad option', async () => {
    const mix = join(dir, 'bad-mix.yaml');
    writeFileSync(mix, 'sync: 1\nsnyc: 2\n');
    await assert.rejects(run(node, ['gateway/cli.ts', 'simulate', '--routes', file, '--mix', mix]),
      (e: { code: number; stderr: string }) => e.code === 1 && /bad-mix\.yaml:2:1: error: unknown key 'snyc'/.test(e.stderr));
    await assert.rejects(run(node, ['gateway/cli.ts', 'simulate', '--routes', file, '--requests', 'many']),
      (e: { code: number; stderr: string }) => e.code === 2 && /--requests many/.test(e.stderr));
  });
});
