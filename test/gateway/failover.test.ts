/**
 * Failures under load (issue 3, points 3 and 4): one of two sync servers is killed in the middle
 * of a 20 s GET load and the client sees zero failed requests; active checks take it out and
 * re-admit it when it comes back; hashed keys return to their server after recovery.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, startGateway, request, load, type Upstream, type TestGateway } from './support.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

/** Restarts an upstream on the same port (a worker coming back). */
async function restartOn(port: number, name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    res.writeHead(200, { 'x-upstream': name, 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name }));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

test('killing one of two sync servers during a 20 s GET load fails no request; it is re-admitted on recovery', async () => {
  const s1: Upstream = await startUpstream('sync1');
  const s2: Upstream = await startUpstream('sync2');
  const main = await startUpstream('main');
  cleanup.push(() => s1.close(), () => main.close());
  const hc = { enabled: true, interval: 200, timeout: 1500, rise: 2, fall: 2 }; // a refused connect fails at once; the timeout only guards a loaded CI box
  const gw: TestGateway = await startGateway({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: hc },
      sync: { servers: [{ name: 'sync1', url: s1.url }, { name: 'sync2', url: s2.url }], health_check: hc, passive_health: { failures: 2, window: '5s', eject_for: '2s' } },
    },
    routes: [{ name: 'sync', match: { paths: ['^/_matrix/client/v3/sync$'] }, upstream: 'sync', balance: { policy: 'consistent_hash', key: 'token_user' } }],
  });
  cleanup.push(() => gw.close());
  // Find a token whose key hashes to sync2, so the kill hits requests that were going there.
  let token = '';
  for (let i = 0; i < 64 && token === ''; i++) {
    const t = `syt_${Buffer.from(`user${i}`).toString('base64url')}_abcdefghijklmnopqrst_000000`;
    const r = await request(gw.port, '/_matrix/client/v3/sync?since=1', { headers: { authorization: `Bearer ${t}` } });
    if (r.headers['x-upstream'] === 'sync2') token = t;
  }
  assert.notEqual(token, '', 'some user hashes to sync2');
  const headers = { authorization: `Bearer ${token}` };
  const s2port = s2.port;
  const running = load(gw.port, '/_matrix/client/v3/sync?since=1', 20_000, 8, headers);
  await sleep(5000);
  await s2.close(); // killed mid-load: its open connections are cut
  await sleep(5000);
  const mid = JSON.parse((await request(gw.adminPort, '/status')).body) as { upstreams: { name: string; servers: { name: string; available: boolean }[] }[] };
  const sync2 = mid.upstreams.find((u) => u.name === 'sync')!.servers.find((s) => s.name === 'sync2')!;
  assert.equal(sync2.available, false, 'sync2 is out while it is dead');
  const back = await restartOn(s2port, 'sync2');
  cleanup.push(() => new Promise((r) => { back.closeAllConnections(); back.close(() => r()); }));
  const result = await running;
  assert.equal(result.failed, 0, `failed requests: ${JSON.stringify([...result.statuses])} ${result.errors.slice(0, 3).join('; ')}`);
  assert.ok(result.ok > 1000, `enough load: ${result.ok}`);
  const r = await request(gw.port, '/_matrix/client/v3/sync?since=1', { headers });
  assert.equal(r.headers['x-upstream'], 'sync2', 'the key came back to its server after recovery');
  const metrics = (await request(gw.adminPort, '/metrics')).body;
  assert.match(metrics, /gateway_upstream_ejections_total\{upstream="sync",server="sync2",reason="[a-z_]+"\} [1-9]/);
  assert.match(metrics, /gateway_upstream_server_available\{upstream="sync",server="sync2"\} 1/);
});

test('a non-idempotent request whose worker dies mid-request fails fast with 502 and is not retried', async () => {
  let posts = 0;
  const dying = await startUpstream('dying', (req) => {
    if (req.method !== 'POST') return false;
    posts++;
    req.socket.destroy(); // the worker process dies while handling the request
    return true;
  });
  const other = await startUpstream('other');
  cleanup.push(() => dying.close(), () => other.close());
  const gw = await startGateway({
    upstreams: { main: { servers: [{ name: 'dying', url: dying.url }, { name: 'other', url: other.url }], health_check: { enabled: false }, passive_health: { enabled: false } } },
  });
  cleanup.push(() => gw.close());
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now();
    const r = await request(gw.port, '/_matrix/client/v3/createRoom', { method: 'POST', body: '{}', agent: false });
    if (r.headers['x-upstream'] === 'other') continue;
    assert.equal(r.status, 502);
    assert.equal((JSON.parse(r.body) as { errcode: string }).errcode, 'M_UNKNOWN');
    assert.ok(Date.now() - t0 < 1000, 'fails fast');
  }
  assert.equal(posts, 2, 'round robin sent two of four POSTs to the dying worker, none retried');
});
