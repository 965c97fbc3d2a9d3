/**
 * The data plane against real upstream servers (issue 3, points 1, 2 and 4; issue 4 point 3):
 * header handling, bodies both ways, error statuses, retries, long polls, client aborts, drift.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, startGateway, request, type Upstream, type TestGateway } from './support.ts';

const ups: Upstream[] = [];
let gw: TestGateway;
let aborted = 0;
let deadPort = 0;

before(async () => {
  const slow = await startUpstream('slow', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('timeout') ?? 0);
    const timer = setTimeout(() => res.end(JSON.stringify({ held: ms })), ms);
    res.on('close', () => { if (!res.writableFinished) { aborted++; clearTimeout(timer); } });
    return true;
  });
  const drifting = await startUpstream('old-worker', (req, res) => {
    if (req.url?.startsWith('/_matrix/client/v3/notfound')) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-upstream': 'old-worker' });
      res.end('{"errcode":"M_NOT_FOUND","error":"no such thing"}');
      return true;
    }
    if (!req.url?.startsWith('/_matrix/client/v3/capabilities')) return false;
    req.resume();
    res.writeHead(req.method === 'POST' ? 405 : 404, { 'content-type': 'application/json', 'x-upstream': 'old-worker' });
    res.end('{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
    return true;
  });
  const chunky = await startUpstream('chunky', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'chunky', connection: 'x-secret', 'x-secret': 'hop' });
    res.write('part1-');
    setTimeout(() => res.end('part2'), 20);
    return true;
  });
  const main = await startUpstream('main', (req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/_matrix/client/v3/capabilities/echo')) return false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'main' });
      res.end(Buffer.concat(chunks));
    });
    return true;
  });
  const a = await startUpstream('a');
  const b = await startUpstream('b');
  ups.push(slow, drifting, chunky, main, a, b);
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadPort = (dead.address() as net.AddressInfo).port;
  dead.close();
  const noHc = { enabled: false };
  gw = await startGateway({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: noHc },
      pair: { servers: [{ name: 'dead', url: `http://127.0.0.1:${deadPort}` }, { name: 'b', url: b.url }], health_check: noHc, passive_health: { enabled: false } },
      deadonly: { servers: [{ name: 'dead', url: `http://127.0.0.1:${deadPort}` }], health_check: noHc },
      downonly: { servers: [{ name: 'a', url: a.url, down: true }], health_check: noHc },
      slow: { servers: [{ name: 'slow', url: slow.url }], health_check: noHc },
      old: { servers: [{ name: 'old-worker', url: drifting.url }], health_check: noHc },
      chunky: { servers: [{ name: 'chunky', url: chunky.url }], health_check: noHc },
    },
    routes: [
      { name: 'sync', match: { paths: ['^/_matrix/client/v3/sync$'] }, upstream: 'slow', long_poll: true, timeouts: { first_byte: 500 } },
      { name: 'slowfixed', match: { paths: ['^/slow$'] }, upstream: 'slow', timeouts: { first_byte: 200 } },
      { name: 'pair', match: { paths: ['^/pair'] }, upstream: 'pair' },
      { name: 'dead', match: { paths: ['^/dead'] }, upstream: 'deadonly' },
      { name: 'down', match: { paths: ['^/down'] }, upstream: 'downonly' },
      { name: 'caps', match: { paths: ['^/_matrix/client/v3/capabilities', '^/_matrix/client/v3/notfound'] }, upstream: 'old' },
      { name: 'chunky', match: { paths: ['^/chunky'] }, upstream: 'chunky' },
      { name: 'small', match: { paths: ['^/small'] }, upstream: 'main', limits: { max_body: '1k' } },
    ],
    expose_server_header: true,
  });
});

after(async () => {
  await gw.close();
  await Promise.all(ups.map((u) => u.close()));
});

test('forwards method, raw path and query byte-for-byte, preserves Host, sets X-Forwarded-*', async () => {
  const r = await request(gw.port, '/_matrix/client/v3/rooms/%21abc%3Aexample.org/messages?dir=b&x=%2F', {
    headers: { host: 'matrix.example.org', 'x-forwarded-for': '6.6.6.6', connection: 'keep-alive, x-drop', 'x-drop': '1', te: 'trailers' },
  });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/_matrix/client/v3/rooms/%21abc%3Aexample.org/messages?dir=b&x=%2F');
  assert.equal(seen.headers.host, 'matrix.example.org');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot inject X-Forwarded-For');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'matrix.example.org');
  assert.equal(seen.headers['x-drop'], undefined, 'fields named in Connection are hop-by-hop');
  assert.equal(seen.headers.te, undefined);
  assert.equal(r.headers['x-switchyard-server'], 'main');
});

test('streams a chunked response and drops hop-by-hop response fields', async () => {
  const r = await request(gw.port, '/chunky');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'part1-part2');
  assert.equal(r.headers['x-secret'], undefined);
  assert.equal(r.headers['x-upstream'], 'chunky');
});

test('request bodies: content-length and chunked both arrive intact', async () => {
  const body = 'x'.repeat(100_000);
  const r = await request(gw.port, '/_matrix/client/v3/upload', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  assert.equal(seen.headers['content-length'], '100000');
  const r2 = await request(gw.port, '/_matrix/client/v3/upload', { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } });
  assert.equal(r2.status, 200);
  assert.equal((JSON.parse(r2.body) as { headers: Record<string, string> }).headers['transfer-encoding'], 'chunked');
});

test('HEAD responses carry no body', async () => {
  const r = await request(gw.port, '/anything', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
});

test('body larger than the route limit: 413', async () => {
  const r = await request(gw.port, '/small', { method: 'POST', body: 'y'.repeat(4096) });
  assert.equal(r.status, 413);
  assert.equal((JSON.parse(r.body) as { errcode: string }).errcode, 'M_TOO_LARGE');
});

test('GET that fails to connect is retried once on the next server', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await request(gw.port, `/pair/${i}`);
    assert.equal(r.status, 200, 'every request is answered by the live server');
    assert.equal(r.headers['x-upstream'], 'b');
  }
  const metrics = await request(gw.adminPort, '/metrics');
  assert.match(metrics.body, /gateway_retries_total\{route="pair",upstream="pair"\} [1-9]/);
});

test('non-idempotent request to a dead server fails fast with 502 and a Matrix error', async () => {
  const t0 = Date.now();
  const r = await request(gw.port, '/dead/x', { method: 'POST', body: '{}' });
  assert.equal(r.status, 502);
  assert.deepEqual(Object.keys(JSON.parse(r.body) as object), ['errcode', 'error']);
  assert.equal((JSON.parse(r.body) as { errcode: string }).errcode, 'M_UNKNOWN');
  assert.ok(Date.now() - t0 < 1000, 'fails fast');
});

test('no available server: 503', async () => {
  const r = await request(gw.port, '/down');
  assert.equal(r.status, 503);
  assert.equal((JSON.parse(r.body) as { errcode: string }).errcode, 'M_UNKNOWN');
});

test('first-byte timeout: 504', async () => {
  const r = await request(gw.port, '/slow?timeout=1000');
  assert.equal(r.status, 504);
});

test('long poll: /sync?timeout=N is held N ms plus the first-byte margin', async () => {
  const t0 = Date.now();
  const r = await request(gw.port, '/_matrix/client/v3/sync?timeout=1200');
  assert.equal(r.status, 200, 'held beyond the 500 ms first-byte timeout');
  assert.deepEqual(JSON.parse(r.body), { held: 1200 });
  assert.ok(Date.now() - t0 >= 1190);
  const late = await request(gw.port, '/_matrix/client/v3/sync?timeout=200&x=1', { headers: {} });
  assert.equal(late.status, 200);
});

test('a client that disconnects aborts its upstream request', async () => {
  const before = aborted;
  const sock = net.connect(gw.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('GET /_matrix/client/v3/sync?timeout=5000 HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(150);
  sock.destroy();
  for (let i = 0; i < 40 && aborted === before; i++) await sleep(25);
  assert.equal(aborted, before + 1, 'the upstream saw its request aborted');
  const status = JSON.parse((await request(gw.adminPort, '/status')).body) as { in_flight: number };
  assert.equal(status.in_flight, 0);
});

test('drift: M_UNRECOGNIZED from a worker is replayed once to main and counted', async () => {
  const r = await request(gw.port, '/_matrix/client/v3/capabilities?access_token=secret');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'main');
  const metrics = await request(gw.adminPort, '/metrics');
  assert.match(metrics.body, /gateway_routing_drift_total\{route="caps",server="old-worker"\} 1/);
  const plain404 = await request(gw.port, '/_matrix/client/v3/notfound');
  assert.equal(plain404.status, 404, 'a 404 that is not M_UNRECOGNIZED passes through');
  assert.equal(plain404.headers['x-upstream'], 'old-worker');
  assert.equal((JSON.parse(plain404.body) as { errcode: string }).errcode, 'M_NOT_FOUND');
});

test('drift: a 405 M_UNRECOGNIZED to a request with a kept body (<= 64 KB) is replayed with that body; larger bodies are not', async () => {
  const body = 'x'.repeat(40 * 1024);
  const r = await request(gw.port, '/_matrix/client/v3/capabilities/echo', { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'main');
  assert.equal(r.body, body, 'main receives the same body the worker was sent');
  const metrics = await request(gw.adminPort, '/metrics');
  assert.match(metrics.body, /gateway_routing_drift_total\{route="caps",server="old-worker"\} 2/);
  const big = await request(gw.port, '/_matrix/client/v3/capabilities/echo', { method: 'POST', body: 'y'.repeat(65 * 1024 + 1) });
  assert.equal(big.status, 405, 'a body over 64 KB was not kept, so the worker answer passes through');
  assert.equal(big.headers['x-upstream'], 'old-worker');
});

test('an upstream header with a control byte or a bare LF (response splitting) becomes a 502, and the gateway keeps serving', async () => {
  const bad = await startUpstream('bad', (req, res) => {
    const field = req.url === '/lf' ? 'X-Bad: a\nX-Injected: b' : 'X-Bad: a\x01b';
    req.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${field}\r\n\r\nok`);
    req.socket.end();
    void res;
    return true;
  });
  ups.push(bad);
  const local = await startGateway({ upstreams: { main: { servers: [{ name: 'bad', url: bad.url }], health_check: { enabled: false } } } });
  try {
    const r = await request(local.port, '/x', { agent: false });
    assert.equal(r.status, 502);
    const again = await request(local.port, '/y', { agent: false });
    assert.equal(again.status, 502, 'still answering');
    const split = await request(local.port, '/lf', { agent: false });
    assert.equal(split.status, 502);
    assert.equal(split.headers['x-injected'], undefined);
  } finally {
    await local.close();
  }
});

test('an upstream that goes silent mid-response is cut after the idle timeout (found by the once-a-second sweep)', async () => {
  const stall = await startUpstream('stall', (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    return true; // never finishes
  });
  ups.push(stall);
  const local = await startGateway({ timeouts: { idle: '1s' }, upstreams: { main: { servers: [{ name: 'stall', url: stall.url }], health_check: { enabled: false } } } });
  try {
    const t0 = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      setTimeout(() => resolve('hung'), 5000).unref();
      const req = http.get({ port: local.port, host: '127.0.0.1', path: '/x', agent: false }, (res) => {
        res.on('data', () => undefined);
        res.on('error', () => resolve('cut'));
        res.on('aborted', () => resolve('cut'));
        res.on('end', () => resolve('ended'));
      });
      req.on('error', () => resolve('cut'));
    });
    const ms = Date.now() - t0;
    assert.equal(outcome, 'cut', 'the client sees the response cut, not completed');
    assert.ok(ms >= 900 && ms < 3500, `cut after ${ms} ms`);
  } finally {
    await local.close();
  }
});
