/**
 * Listener changes on reload (gateway/server.ts reload): a moved, added or removed listener is
 * opened or closed (in-flight requests on a removed one finish), a changed kind applies on the
 * same socket, and a listener that cannot be bound rejects the whole reload (old table and
 * listeners stay, counted as rejected).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, startGateway, request, writeRoutes, type TestGateway } from './support.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanup.reverse()) await c(); });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A fresh connection each time (no pooled socket to a listener that may be gone). */
function get(port: number, path: string): ReturnType<typeof request> {
  return request(port, path, { agent: false });
}

async function refused(port: number): Promise<boolean> {
  try {
    await get(port, '/status');
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

interface Status { reloads: { ok: number; rejected: number; last: { ok: boolean; errors: string[] } | null } }

const PUBLIC = { name: 'public', kind: 'public', host: '127.0.0.1', port: 0 };
const ADMIN = { name: 'admin', kind: 'admin', host: '127.0.0.1', port: 0 };

async function setup(): Promise<{ gw: TestGateway; upstreams: Record<string, unknown> }> {
  const main = await startUpstream('main', (req, res) => {
    if (req.url !== '/slow') return false;
    setTimeout(() => res.end('slow done'), 400);
    return true;
  });
  const other = await startUpstream('other');
  cleanup.push(() => main.close(), () => other.close());
  const upstreams = {
    main: { servers: [{ name: 'main', url: main.url }], health_check: { enabled: false } },
    other: { servers: [{ name: 'other', url: other.url }], health_check: { enabled: false } },
  };
  const gw = await startGateway({ upstreams });
  cleanup.push(() => gw.close());
  return { gw, upstreams };
}

test('a reload moves the admin listener, adds and removes listeners; a request in flight on a removed one finishes', async () => {
  const { gw, upstreams } = await setup();
  const [admin2, extra] = [await freePort(), await freePort()];
  writeRoutes({ listeners: [PUBLIC, { ...ADMIN, port: admin2 }, { name: 'extra', kind: 'public', host: '127.0.0.1', port: extra }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  const status = JSON.parse((await get(admin2, '/status')).body) as Status;
  assert.deepEqual([status.reloads.ok, status.reloads.rejected], [1, 0]);
  assert.ok(await refused(gw.adminPort), 'the old admin port is closed');
  assert.equal((await get(extra, '/_matrix/client/versions')).headers['x-upstream'], 'main', 'the added listener proxies');
  assert.equal((await get(gw.port, '/_matrix/client/versions')).status, 200, 'the kept public listener still serves');
  assert.deepEqual(gw.gw.addresses().map((a) => [a.name, a.kind]).sort(), [['admin', 'admin'], ['extra', 'public'], ['public', 'public']]);

  const slow = get(extra, '/slow');
  await sleep(100);
  writeRoutes({ listeners: [PUBLIC, { ...ADMIN, port: admin2 }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.ok(await refused(extra), 'the removed listener takes no new connection');
  const r = await slow;
  assert.deepEqual([r.status, r.body], [200, 'slow done'], 'the request in flight on the removed listener finished');
});

test('a reload that changes a listener\'s kind applies on the same socket', async () => {
  const { gw, upstreams } = await setup();
  const port = await freePort();
  writeRoutes({ listeners: [PUBLIC, ADMIN, { name: 'ops', kind: 'public', host: '127.0.0.1', port }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.equal((await get(port, '/status')).headers['x-upstream'], 'main', 'a public listener proxies /status');
  writeRoutes({ listeners: [PUBLIC, ADMIN, { name: 'ops', kind: 'admin', host: '127.0.0.1', port }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  const status = JSON.parse((await get(port, '/status')).body) as Status;
  assert.equal(status.reloads.ok, 2, 'now the admin endpoints answer on it');
});

test('a listener that cannot be bound rejects the reload: old routes and listeners stay', async () => {
  const { gw, upstreams } = await setup();
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => taken.close(() => r())));
  const port = (taken.address() as net.AddressInfo).port;
  const admin2 = await freePort();
  writeRoutes({
    listeners: [PUBLIC, { ...ADMIN, port: admin2 }, { name: 'extra', kind: 'public', host: '127.0.0.1', port }],
    upstreams, default_upstream: 'other',
  }, gw.file);
  assert.equal(await gw.gw.reload(), false);
  const status = JSON.parse((await get(gw.adminPort, '/status')).body) as Status;
  assert.deepEqual([status.reloads.ok, status.reloads.rejected], [0, 1]);
  assert.match(status.reloads.last!.errors.join('\n'), /listener 'extra' \(127\.0\.0\.1:\d+\) cannot be opened: EADDRINUSE/);
  assert.equal((await get(gw.port, '/_matrix/client/versions')).headers['x-upstream'], 'main', 'the old default upstream still serves');
  assert.ok(await refused(admin2), 'the listener opened before the failure was closed again');
});

/** True when a TCP connect to host:port succeeds. */
function accepts(port: number, host: string): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect(port, host, () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  });
}

test('a shutdown that starts while a reload binds a new listener leaves no listener open; that reload is rejected', async () => {
  const { gw, upstreams } = await setup();
  const extra = await freePort();
  // 'localhost' makes the bind wait for a real address lookup (as a cluster worker waits for the primary)
  writeRoutes({ listeners: [PUBLIC, ADMIN, { name: 'extra', kind: 'public', host: 'localhost', port: extra }], upstreams }, gw.file);
  const reloaded = gw.gw.reload();
  for (let i = 0; i < 5; i++) await Promise.resolve(); // the shutdown arrives while the bind is pending
  assert.equal(await gw.gw.shutdown(), 'drained');
  assert.equal(await reloaded, false, 'the reload lost the race with the shutdown');
  assert.deepEqual([gw.gw.reloads.ok, gw.gw.reloads.rejected], [0, 1]);
  assert.match(gw.gw.reloads.last!.errors.join('\n'), /shutting down/);
  assert.equal(await accepts(extra, '127.0.0.1'), false, 'the listener the reload opened is closed (127.0.0.1)');
  assert.equal(await accepts(extra, '::1'), false, 'the listener the reload opened is closed (::1)');
  assert.deepEqual(gw.gw.addresses().map((a) => a.name).sort(), ['admin', 'public']);
});

test('a reload that removes a listener answers a request whose head had only started on it (Connection: close)', async () => {
  const { gw, upstreams } = await setup();
  const extra = await freePort();
  writeRoutes({ listeners: [PUBLIC, ADMIN, { name: 'extra', kind: 'public', host: '127.0.0.1', port: extra }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  const sock = net.connect(extra, '127.0.0.1');
  let got = '';
  sock.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise((r) => sock.once('connect', r));
  sock.write('GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n');
  await sleep(50);
  writeRoutes({ listeners: [PUBLIC, ADMIN], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  await sleep(20);
  sock.write('User-Agent: t\r\n\r\n');
  await closed;
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, `the request was answered: ${JSON.stringify(got.slice(0, 80))}`);
  assert.match(got, /\r\nConnection: close\r\n/i);
  assert.match(got, /"upstream":"main"/);
});

test('a listener a reload removed is forgotten once its last connection closed', async () => {
  const { gw, upstreams } = await setup();
  const extra = await freePort();
  writeRoutes({ listeners: [PUBLIC, ADMIN, { name: 'extra', kind: 'public', host: '127.0.0.1', port: extra }], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  const retired = (gw.gw as unknown as { retired: unknown[] }).retired;
  const slow = get(extra, '/slow');
  await sleep(100);
  writeRoutes({ listeners: [PUBLIC, ADMIN], upstreams }, gw.file);
  assert.equal(await gw.gw.reload(), true);
  assert.equal(retired.length, 1, 'draining');
  assert.equal((await slow).body, 'slow done');
  for (let i = 0; i < 100 && retired.length > 0; i++) await sleep(10);
  assert.equal(retired.length, 0, 'closed listeners are not kept');
});
