/**
 * `--workers N` (issue 3, point 9): two processes share the listeners, both serve traffic, every
 * hashed key gets the same server from either process, /metrics aggregates all workers, and
 * SIGTERM stops them all with exit 0.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, routesDoc, writeRoutes, spawnGateway, request, type Upstream } from './support.ts';

const ups: Upstream[] = [];
after(async () => { await Promise.all(ups.map((u) => u.close())); });

test('--workers 2: both processes serve, decisions are identical in each, metrics aggregate, SIGTERM exits 0', async () => {
  for (const n of ['main', 'sync1', 'sync2', 'sync3']) ups.push(await startUpstream(n));
  const [main, s1, s2, s3] = ups as [Upstream, Upstream, Upstream, Upstream];
  const hc = { enabled: false };
  const file = writeRoutes(routesDoc({
    listeners: [{ name: 'public', kind: 'public', host: '127.0.0.1', port: 0 }, { name: 'admin', kind: 'admin', host: '127.0.0.1', port: 0 }],
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: hc },
      sync: { servers: [{ name: 'sync1', url: s1.url }, { name: 'sync2', url: s2.url }, { name: 'sync3', url: s3.url }], health_check: hc },
    },
    routes: [{ name: 'sync', match: { paths: ['^/_matrix/client/v3/sync$'] }, upstream: 'sync', balance: { policy: 'consistent_hash', key: 'token_user' } }],
  }));
  const gw = await spawnGateway(file, ['--no-access-log', '--workers', '2']);
  try {
    for (let i = 0; i < 200 && (gw.stderr().match(/"kind":"public"/g) ?? []).length < 2; i++) await sleep(50);
    assert.equal((gw.stderr().match(/"kind":"public"/g) ?? []).length, 2, 'both workers are listening');
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const s = JSON.parse((await request(gw.adminPort, '/status', { agent: false })).body) as { pid: number };
      pids.add(s.pid);
    }
    assert.equal(pids.size, 2, 'connections are spread over both worker processes');
    const choice = new Map<string, Set<string>>();
    for (let round = 0; round < 6; round++) {
      for (let u = 0; u < 30; u++) {
        const token = `syt_${Buffer.from(`user${u}`).toString('base64url')}_abcdefghijklmnopqrst_000000`;
        const r = await request(gw.port, '/_matrix/client/v3/sync?since=1', { headers: { authorization: `Bearer ${token}` }, agent: false });
        assert.equal(r.status, 200);
        let set = choice.get(token);
        if (!set) choice.set(token, (set = new Set()));
        set.add(String(r.headers['x-upstream']));
      }
    }
    for (const [token, servers] of choice) assert.equal(servers.size, 1, `${token} went to ${[...servers].join(', ')}`);
    const used = new Set([...choice.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 2, 'keys spread over the pool');
    // /metrics sums every worker's counters, whichever worker answers the scrape.
    for (let i = 0; i < 4; i++) {
      const text = (await request(gw.adminPort, '/metrics', { agent: false })).body;
      const counted = [...text.matchAll(/^gateway_requests_total\{route="sync",[^}]*status="200"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(counted, 180, 'the 180 sync requests of both workers');
      assert.match(text, /^gateway_request_duration_seconds_count\{route="sync"\} 180$/m);
    }
  } finally {
    assert.equal(await gw.stop('SIGTERM'), 0);
  }
});
