/**
 * /status under `--workers N` (gateway/admin.ts mergeStatus, gateway/cluster-metrics.ts): every
 * poll, whichever worker answers, shows the sums over all workers (requests, per-server counts)
 * and lists the workers, so /status.html rates do not jump between processes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, routesDoc, writeRoutes, spawnGateway, request, type Upstream } from './support.ts';
import { mergeStatus, type StatusDocument } from '../../gateway/admin.ts';

const ups: Upstream[] = [];
after(async () => { await Promise.all(ups.map((u) => u.close())); });

interface Doc {
  pid: number; requests_total: number;
  reloads: { ok: number; rejected: number; last: { ok: boolean } | null; disagree?: boolean };
  workers?: { pid: number; requests_total: number; reloads: { ok: number; rejected: number; last: { ok: boolean } | null } }[];
  upstreams: { name: string; servers: { name: string; requests: number }[] }[];
}

test('--workers 3: every /status poll shows the totals of all workers', async () => {
  const main = await startUpstream('main');
  const w = await startUpstream('w');
  ups.push(main, w);
  const hc = { enabled: false };
  const file = writeRoutes(routesDoc({
    upstreams: { main: { servers: [{ name: 'main', url: main.url }], health_check: hc }, work: { servers: [{ name: 'w', url: w.url }], health_check: hc } },
    routes: [{ name: 'work', match: { paths: ['^/work$'] }, upstream: 'work' }],
  }));
  const gw = await spawnGateway(file, ['--no-access-log', '--workers', '3']);
  try {
    for (let i = 0; i < 200 && (gw.stderr().match(/"kind":"admin"/g) ?? []).length < 3; i++) await sleep(50);
    for (let i = 0; i < 30; i++) assert.equal((await request(gw.port, '/work', { agent: false })).status, 200);
    const answered = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const doc = JSON.parse((await request(gw.adminPort, '/status', { agent: false })).body) as Doc;
      answered.add(doc.pid);
      assert.equal(doc.requests_total, 30, `poll ${i} (pid ${doc.pid}): the total of every worker`);
      assert.equal(doc.upstreams.find((u) => u.name === 'work')!.servers[0]!.requests, 30, 'per-server counts are summed too');
      assert.equal(doc.workers?.length, 3, 'the three workers are listed');
      assert.equal(doc.workers.reduce((n, x) => n + x.requests_total, 0), 30);
    }
    assert.ok(answered.size > 1, 'polls were answered by more than one worker');
    gw.child.kill('SIGHUP'); // the primary forwards it to every worker: one cluster reload
    let doc: Doc | null = null;
    for (let i = 0; i < 100; i++) {
      doc = JSON.parse((await request(gw.adminPort, '/status', { agent: false })).body) as Doc;
      if (doc.workers!.every((x) => x.reloads.ok === 1)) break;
      await sleep(50);
    }
    assert.deepEqual(doc!.workers!.map((x) => [x.reloads.ok, x.reloads.last?.ok]), [[1, true], [1, true], [1, true]], 'each worker reloaded once');
    assert.deepEqual([doc!.reloads.ok, doc!.reloads.rejected, doc!.reloads.last?.ok, doc!.reloads.disagree], [1, 0, true, false], 'one SIGHUP is one reload');
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});

test('mergeStatus: sums counts, a server is available only if every worker sees it so, latest check and reload win', () => {
  const server = (over: Partial<StatusDocument['upstreams'][number]['servers'][number]>): StatusDocument['upstreams'][number]['servers'][number] => ({
    name: 's1', url: 'http://127.0.0.1:1', weight: 1, down: false, available: true, inflight: 1, requests: 10, ejected_until: null,
    last_check: { at: 100, ok: true, detail: 'HTTP 200' }, connections: { open: 2, idle: 1 }, ...over,
  });
  const doc = (pid: number, s: StatusDocument['upstreams'][number]['servers'][number], reloadAt: number): StatusDocument => ({
    pid, uptime_s: pid, rss_bytes: 1000, memory: process.memoryUsage(), in_flight: 1, requests_total: 10, draining: false,
    reloads: { ok: 1, rejected: 0, last: { at: reloadAt, ok: true, errors: [] } }, routes: 0, default_upstream: 'u',
    upstreams: [{ name: 'u', policy: 'round_robin', servers: [s] }],
  });
  const a = doc(1, server({}), 5);
  const b = doc(2, server({ available: false, ejected_until: 999, last_check: { at: 200, ok: false, detail: 'timeout' }, requests: 5 }), 7);
  const m = mergeStatus(a, [a, b]);
  assert.equal(m.pid, 1);
  assert.deepEqual([m.requests_total, m.in_flight, m.rss_bytes, m.uptime_s], [20, 2, 2000, 2]);
  assert.deepEqual([m.reloads.ok, m.reloads.rejected, m.reloads.disagree], [1, 0, false], 'one reload of every worker is one reload');
  assert.equal(m.reloads.last?.at, 7);
  assert.deepEqual(m.workers?.map((x) => x.reloads.last?.at), [5, 7], 'each worker\'s last reload is listed');
  const s = m.upstreams[0]!.servers[0]!;
  assert.deepEqual([s.available, s.requests, s.inflight, s.ejected_until, s.last_check?.detail, s.connections.open], [false, 15, 2, 999, 'timeout', 4]);
  assert.deepEqual(m.workers?.map((x) => x.pid), [1, 2]);

  // A worker respawned after a reload has counted none; one that rejected the latest reload disagrees.
  const fresh = { ...doc(3, server({}), 0), reloads: { ok: 0, rejected: 0, last: null } };
  assert.deepEqual(mergeStatus(a, [a, b, fresh]).reloads, { ok: 1, rejected: 0, last: b.reloads.last, disagree: false });
  const rejected = { ...b, reloads: { ok: 0, rejected: 1, last: { at: 9, ok: false, errors: ['listener cannot be opened'] } } };
  const split = mergeStatus(a, [a, rejected]).reloads;
  assert.deepEqual([split.ok, split.rejected, split.last?.ok, split.disagree], [1, 1, false, true]);
});
