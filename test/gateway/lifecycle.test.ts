/**
 * Reload and shutdown of a gateway child process (issue 3, points 5 and 6): ten SIGHUP reloads
 * (two of them invalid files) under load with zero errors, long polls surviving a reload, --watch,
 * and a SIGTERM drain that lets in-flight long polls finish and exits 0.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, routesDoc, writeRoutes, spawnGateway, request, load, type Upstream } from './support.ts';

const ups: Upstream[] = [];
after(async () => { await Promise.all(ups.map((u) => u.close())); });

/** An upstream whose /sync answers after `?timeout=` ms. */
async function pollingUpstream(name: string): Promise<Upstream> {
  const up = await startUpstream(name, (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('timeout') ?? 0);
    if (ms === 0) return false;
    setTimeout(() => { res.writeHead(200, { 'x-upstream': name }); res.end('{"held":true}'); }, ms);
    return true;
  });
  ups.push(up);
  return up;
}

function doc(a: Upstream, b: Upstream, clientTo: 'a' | 'b'): Record<string, unknown> {
  const hc = { enabled: false };
  return routesDoc({
    upstreams: { main: { servers: [{ name: 'a', url: a.url }], health_check: hc }, other: { servers: [{ name: 'b', url: b.url }], health_check: hc } },
    routes: [{ name: 'client', match: { paths: ['^/_matrix/client/'] }, upstream: clientTo === 'a' ? 'main' : 'other', long_poll: true }],
  });
}

test('ten reloads under load (two invalid) see zero errors; long polls survive; the new table takes effect', async () => {
  const a = await pollingUpstream('a');
  const b = await pollingUpstream('b');
  const file = writeRoutes(doc(a, b, 'a'));
  const gw = await spawnGateway(file, ['--no-access-log']);
  try {
    const longPoll = request(gw.port, '/_matrix/client/v3/sync?timeout=2500', { agent: false });
    const running = load(gw.port, '/_matrix/client/v3/versions', 6000, 8);
    for (let i = 0; i < 10; i++) {
      await sleep(450);
      if (i === 3 || i === 7) writeFileSync(file, 'upstreams: {main: {servers: []}}\nroutes: [oops\n');
      else writeRoutes(doc(a, b, i % 2 === 0 ? 'a' : 'b'), file);
      gw.child.kill('SIGHUP');
    }
    const result = await running;
    assert.equal(result.failed, 0, `errors: ${JSON.stringify([...result.statuses])} ${result.errors.slice(0, 3).join('; ')}`);
    assert.ok(result.ok > 200, `load ran: ${result.ok}`);
    const lp = await longPoll;
    assert.equal(lp.status, 200, 'the long poll that started before the reloads completed');
    await sleep(300);
    const status = JSON.parse((await request(gw.adminPort, '/status')).body) as { reloads: { ok: number; rejected: number } };
    assert.deepEqual([status.reloads.ok, status.reloads.rejected], [8, 2]);
    assert.match(gw.stderr(), /reload rejected; keeping the current routes/);
    assert.match(gw.stderr(), /routes\.yaml:\d+:\d+: error/, 'the file errors are logged with positions');
    // The last valid file (i = 9) sends client traffic to b.
    assert.equal((await request(gw.port, '/_matrix/client/v3/versions')).headers['x-upstream'], 'b');
  } finally {
    await gw.stop();
  }
});

test('--watch reloads when the file changes', async () => {
  const a = await pollingUpstream('a');
  const b = await pollingUpstream('b');
  const file = writeRoutes(doc(a, b, 'a'));
  const gw = await spawnGateway(file, ['--no-access-log', '--watch']);
  try {
    assert.equal((await request(gw.port, '/_matrix/client/v3/x')).headers['x-upstream'], 'a');
    writeRoutes(doc(a, b, 'b'), file);
    let seen = '';
    for (let i = 0; i < 40 && seen !== 'b'; i++) {
      await sleep(100);
      seen = String((await request(gw.port, '/_matrix/client/v3/x')).headers['x-upstream']);
    }
    assert.equal(seen, 'b');
  } finally {
    await gw.stop();
  }
});

test('SIGTERM drains in-flight long polls, refuses new connections, exits 0', async () => {
  const a = await pollingUpstream('a');
  const b = await pollingUpstream('b');
  const gw = await spawnGateway(writeRoutes(doc(a, b, 'a')), ['--no-access-log']);
  const polls = [1200, 1500].map((ms) => request(gw.port, `/_matrix/client/v3/sync?timeout=${ms}`, { agent: false }));
  await sleep(300);
  const t0 = Date.now();
  const exit = gw.stop('SIGTERM');
  await sleep(200);
  await assert.rejects(request(gw.port, '/_matrix/client/v3/versions', { agent: false }), 'no new connections while draining');
  const results = await Promise.all(polls);
  assert.deepEqual(results.map((r) => r.status), [200, 200]);
  assert.equal(await exit, 0);
  assert.ok(Date.now() - t0 >= 1000, 'it waited for the long polls');
});

test('SIGTERM with a drain deadline cuts what is left and still exits 0', async () => {
  const a = await pollingUpstream('a');
  const b = await pollingUpstream('b');
  const gw = await spawnGateway(writeRoutes(doc(a, b, 'a')), ['--no-access-log', '--drain-timeout', '400']);
  const poll = request(gw.port, '/_matrix/client/v3/sync?timeout=10000', { agent: false }).catch((e: Error) => e);
  await sleep(200);
  const t0 = Date.now();
  assert.equal(await gw.stop('SIGTERM'), 0);
  assert.ok(Date.now() - t0 < 3000, 'the deadline bounds the drain');
  assert.ok((await poll) instanceof Error, 'the unfinished long poll was cut');
});
