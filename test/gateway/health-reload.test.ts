/**
 * Health across reloads (gateway/health.ts): a reload that changes a server's weight or `down`
 * keeps its health (a failing server stays out, an ejection holds, /status counters go on); the
 * passive-ejection guard does not count a `down: true` server as available; reloads that land
 * while a probe is in flight do not add check loops.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, startGateway, request, routesDoc, writeRoutes, type TestGateway } from './support.ts';
import { defaultServerStore } from '../../routing/table.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

/** An upstream whose /health answer (status, delay) and request answer the test controls. */
interface Controlled {
  url: string;
  healthStatus: number;
  healthDelay: number;
  answer: number;
  probes: number;
  hits: number;
  /** Resolves when the next /health request arrives. */
  nextProbe(): Promise<void>;
}

async function controlled(name: string): Promise<Controlled> {
  let waiters: (() => void)[] = [];
  const c: Controlled = {
    url: '', healthStatus: 200, healthDelay: 0, answer: 200, probes: 0, hits: 0,
    nextProbe: () => new Promise<void>((r) => waiters.push(r)),
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      c.probes++;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
      setTimeout(() => { res.statusCode = c.healthStatus; res.end('health'); }, c.healthDelay);
      return;
    }
    c.hits++;
    req.resume();
    res.writeHead(c.answer, { 'x-upstream': name, 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  cleanup.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return c;
}

interface StatusServer { name: string; available: boolean; requests: number; ejected_until: number | null; weight: number }

async function servers(gw: TestGateway, upstream: string): Promise<Map<string, StatusServer>> {
  const doc = JSON.parse((await request(gw.adminPort, '/status')).body) as { upstreams: { name: string; servers: StatusServer[] }[] };
  return new Map(doc.upstreams.find((u) => u.name === upstream)!.servers.map((s) => [s.name, s]));
}

async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** routes.yaml of main plus a `work` pool of w1 and w2 (w2's server fields in `w2`), routed at /work. */
function workDoc(main: { url: string }, w1: { url: string }, w2: { url: string }, w2Fields: Record<string, unknown>, health: Record<string, unknown>): Record<string, unknown> {
  return {
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: { enabled: false } },
      work: { servers: [{ name: 'w1', url: w1.url }, { name: 'w2', url: w2.url, ...w2Fields }], ...health },
    },
    routes: [{ name: 'work', match: { paths: ['^/work$'] }, upstream: 'work' }],
  };
}

test('a reload that changes a failing server\'s weight keeps it out and keeps its request count', async () => {
  const main = await startUpstream('main');
  cleanup.push(() => main.close());
  const w1 = await controlled('w1');
  const w2 = await controlled('w2');
  const doc = (weight: number) => workDoc(main, w1, w2, { weight }, { health_check: { interval: 100, timeout: 1000, rise: 1, fall: 1 }, passive_health: { enabled: false } });
  const gw = await startGateway(doc(1));
  cleanup.push(() => gw.close());
  for (let i = 0; i < 4; i++) assert.equal((await request(gw.port, '/work')).status, 200);
  const before = (await servers(gw, 'work')).get('w2')!.requests;
  assert.equal(before, 2, 'round robin sent two of four requests to w2');
  w2.healthStatus = 503;
  await until('w2 unavailable', async () => !(await servers(gw, 'work')).get('w2')!.available);
  writeRoutes(routesDoc(doc(2)), gw.file);
  assert.equal(await gw.gw.reload(), true);
  const after = (await servers(gw, 'work')).get('w2')!;
  assert.equal(after.weight, 2, 'the reload applied');
  assert.equal(after.available, false, 'w2 still fails its checks: the reload must not admit it');
  assert.equal(after.requests, before, '/status keeps counting the same server');
  const hitsBefore = w2.hits;
  for (let i = 0; i < 6; i++) assert.equal((await request(gw.port, '/work')).headers['x-upstream'], 'w1');
  assert.equal(w2.hits, hitsBefore, 'no request reached the failing server');
  w2.healthStatus = 200;
  await until('w2 re-admitted', async () => (await servers(gw, 'work')).get('w2')!.available);
});

test('a reload that changes an ejected server\'s weight keeps the passive ejection', async () => {
  const main = await startUpstream('main');
  cleanup.push(() => main.close());
  const w1 = await controlled('w1');
  const w2 = await controlled('w2');
  const doc = (weight: number) => workDoc(main, w1, w2, { weight }, { health_check: { enabled: false }, passive_health: { failures: 1, window: '10s', eject_for: '30s' } });
  const gw = await startGateway(doc(1));
  cleanup.push(() => gw.close());
  w2.answer = 500;
  for (let i = 0; i < 2; i++) await request(gw.port, '/work');
  const ejected = (await servers(gw, 'work')).get('w2')!;
  assert.equal(ejected.available, false);
  assert.notEqual(ejected.ejected_until, null, 'w2 was ejected after its 500');
  writeRoutes(routesDoc(doc(3)), gw.file);
  assert.equal(await gw.gw.reload(), true);
  const after = (await servers(gw, 'work')).get('w2')!;
  assert.equal(after.weight, 3);
  assert.equal(after.available, false, 'still ejected after the reload');
  assert.equal(after.ejected_until, ejected.ejected_until, 'same ejection deadline');
  const hitsBefore = w2.hits;
  for (let i = 0; i < 6; i++) await request(gw.port, '/work');
  assert.equal(w2.hits, hitsBefore, 'no request reached the ejected server');
});

test('passive ejection never ejects the last server that can be picked (a `down: true` peer does not count)', async () => {
  const main = await startUpstream('main');
  cleanup.push(() => main.close());
  const w1 = await controlled('w1');
  const w2 = await controlled('w2');
  const gw = await startGateway(workDoc(main, w1, w2, { down: true }, { health_check: { enabled: false }, passive_health: { failures: 1, window: '10s', eject_for: '30s' } }));
  cleanup.push(() => gw.close());
  w1.answer = 500;
  assert.equal((await request(gw.port, '/work')).status, 500, 'w1 answered 500 (a passive failure)');
  w1.answer = 200;
  const r = await request(gw.port, '/work');
  assert.equal(r.status, 200, 'w1 is still used: ejecting it would leave the upstream with no server (503)');
  assert.equal(r.headers['x-upstream'], 'w1');
  const w1s = (await servers(gw, 'work')).get('w1')!;
  assert.equal(w1s.ejected_until, null);
  assert.equal(w1s.available, true);
});

test('reloads that land while a health probe is in flight do not add check loops', async () => {
  const main = await startUpstream('main');
  cleanup.push(() => main.close());
  const w1 = await controlled('w1');
  w1.healthDelay = 150;
  const interval = 500;
  const gw = await startGateway({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: { enabled: false } },
      work: { servers: [{ name: 'w1', url: w1.url }], health_check: { interval, timeout: 2000 } },
    },
  });
  cleanup.push(() => gw.close());
  for (let i = 0; i < 10; i++) {
    await w1.nextProbe(); // a probe is in flight now (it answers after 150 ms)
    assert.equal(await gw.gw.reload(), true);
  }
  await sleep(1000); // let restarted checks settle into their loop(s)
  const start = w1.probes;
  await sleep(3000);
  const probes = w1.probes - start;
  // One loop: a probe every interval + 150 ms, about 4.6 in 3 s. Each extra loop adds as many.
  assert.ok(probes <= 7, `${probes} probes in 3 s with a ${interval} ms interval: more than one check loop`);
  assert.ok(probes >= 3, `${probes} probes in 3 s: the check loop stopped`);
});

test('/status counts a request in flight across a reload that changes its server\'s weight; a removed server\'s count is dropped', async () => {
  const main = await startUpstream('main', (req, res) => {
    if (req.url !== '/slow') return false;
    setTimeout(() => res.end('slow done'), 300);
    return true;
  });
  const w1 = await controlled('w1');
  cleanup.push(() => main.close());
  const doc = (weight: number, withW1: boolean): Record<string, unknown> => ({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url, weight }], health_check: { enabled: false } },
      ...(withW1 ? { work: { servers: [{ name: 'w1', url: w1.url }], health_check: { enabled: false } } } : {}),
    },
    routes: withW1 ? [{ name: 'work', match: { paths: ['^/work$'] }, upstream: 'work' }] : [],
  });
  const gw = await startGateway(doc(1, true));
  cleanup.push(() => gw.close());
  for (const path of ['/a', '/b', '/work']) assert.equal((await request(gw.port, path, { agent: false })).status, 200);
  const slow = request(gw.port, '/slow', { agent: false });
  await sleep(100);
  writeRoutes(routesDoc(doc(2, true)), gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.equal((await slow).body, 'slow done');
  assert.equal((await servers(gw, 'main')).get('main')!.requests, 3, 'the request that finished after the reload is counted');
  writeRoutes(routesDoc(doc(2, false)), gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.equal(gw.gw.metrics.serverCount(), 1, 'only the servers of the current table keep a /status count');
  writeRoutes(routesDoc(doc(2, true)), gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.equal((await servers(gw, 'work')).get('w1')!.requests, 0, 'a server added again starts counting afresh');
});

test('the server store forgets servers the latest table no longer has, and keeps the others', () => {
  const store = defaultServerStore();
  const a = store('u', 'a', 'http://127.0.0.1:1', 1, false);
  const b = store('u', 'b', 'http://127.0.0.1:2', 1, false);
  b.available = false;
  store.retain([a]);
  assert.equal(store('u', 'a', 'http://127.0.0.1:1', 1, false), a, 'a kept server keeps its state object');
  const b2 = store('u', 'b', 'http://127.0.0.1:2', 1, false);
  assert.notEqual(b2, b, 'a forgotten server comes back as a new state object');
  assert.equal(b2.available, true);
  const a2 = store('u', 'a', 'http://127.0.0.1:1', 2, false);
  assert.notEqual(a2, a);
  store.retain([a2, b2]);
  assert.equal(store('u', 'a', 'http://127.0.0.1:1', 2, false), a2, 'the latest state object is the one kept');
});
