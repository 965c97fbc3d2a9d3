/**
 * The gateway's own HTTP/1.1 listener (gateway/http1-server.ts, gateway/http1-request.ts): the
 * strict request parser on its own (every head and chunked body also fed split at every byte),
 * and on raw sockets through a real gateway: pipelining in order, Expect: 100-continue,
 * HTTP/1.0 keep-alive rules, leading empty lines, and the refusals (missing Host, bare LF,
 * unsupported versions and codings) that answer once and close.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BodyDecoder, RequestError, fieldList, parseRequestHead } from '../../gateway/http1-request.ts';
import { startUpstream, startGateway, type Upstream, type TestGateway } from './support.ts';
import { Http1Server } from '../../gateway/http1-server.ts';

let up: Upstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream('main');
  gw = await startGateway({ upstreams: { main: { servers: [{ name: 'main', url: up.url }], health_check: { enabled: false } } } });
});

after(async () => {
  await gw.close();
  await up.close();
});

const refused = (text: string): number => {
  try {
    parseRequestHead(text);
    return 0;
  } catch (err) {
    assert.ok(err instanceof RequestError);
    return err.status;
  }
};

test('request heads: fields, framing and keep-alive facts', () => {
  const h = parseRequestHead('POST /a?b=c HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer one\r\nauthorization: Bearer two\r\nX-A: 1\r\nx-a:2 \r\nContent-Length: 5');
  assert.equal(h.method, 'POST');
  assert.equal(h.url, '/a?b=c');
  assert.equal(h.contentLength, 5);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
  assert.equal(h.headers['authorization'], 'Bearer one', 'the first Authorization wins, as in node:http');
  assert.equal(h.headers['x-a'], '1, 2');
  assert.deepEqual(fieldList(h.text).slice(0, 6), ['Host', 'x', 'Authorization', 'Bearer one', 'authorization', 'Bearer two']);
  const only = parseRequestHead('GET / HTTP/1.1\r\nHost: x\r\nX-Skip: 1\r\nAuthorization: a', new Set(['authorization']));
  assert.deepEqual(only.headers, { authorization: 'a' }, 'with a wanted set, only those names are kept');
  assert.equal(parseRequestHead('GET / HTTP/1.1\r\nHost: x\r\nConnection: Close').keepAlive, false);
  assert.equal(parseRequestHead('GET / HTTP/1.0').keepAlive, false);
  assert.equal(parseRequestHead('GET / HTTP/1.0\r\nConnection: keep-alive').keepAlive, true);
  assert.equal(parseRequestHead('PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue').expectContinue, true);
  for (const host of ['matrix.example.org', 'matrix.example.org:8448', '127.0.0.1:8008', '[::1]:8008', '[fe80::1%25eth0]', 'xn--bcher-kva.example', '']) {
    assert.equal(parseRequestHead(`GET / HTTP/1.1\r\nHost: ${host}`).headers['host'], host, `Host: ${host}`);
  }
});

test('request heads: every ambiguous or malformed shape is refused with its status', () => {
  const cases: [string, number][] = [
    ['GET / HTTP/1.1', 400], // no Host
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b', 400],
    ['GET / HTTP/2.0\r\nHost: x', 505],
    ['GET  / HTTP/1.1\r\nHost: x', 400],
    ['GET / HTTP/1.1\nHost: x', 400], // bare LF
    ['GET / HTTP/1.1\r\nHost: x\r\nX: a\rb', 400], // bare CR
    ['GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b', 400],
    ['GET / HTTP/1.1\r\nHost: x\r\n folded', 400],
    ['GET / HTTP/1.1\r\nHost: x\r\nBad Name: v', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5', 400], // equal duplicates too
    ['POST / HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: 5', 400],
    ['GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: Host', 400],
    ['GET / HTTP/1.0\r\nHost: a\r\nHost: b', 400],
    ['GET / HTTP/1.1\r\nHost: a b', 400],
    ['GET / HTTP/1.1\r\nHost: a.example, b.example', 400],
    ['GET / HTTP/1.1\r\nHost: a@b', 400],
    ['GET /a#b HTTP/1.1\r\nHost: x', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked', 501],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity', 400],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked', 400],
  ];
  for (const [head, status] of cases) assert.equal(refused(head), status, JSON.stringify(head));
});

/** Decodes `wire` with the body decoder, cut at `cut` (0 = whole). */
function decode(wire: string, cut = 0): { body: string; used: number } {
  const d = new BodyDecoder(-1, true);
  const buf = Buffer.from(wire, 'latin1');
  let body = '';
  const pieces = cut > 0 ? [buf.subarray(0, cut), buf.subarray(cut)] : [buf];
  let used = 0;
  for (const p of pieces) {
    if (!d.done) used += d.feed(p, 0, (c) => { body += c.toString('latin1'); });
  }
  assert.ok(d.done);
  return { body, used };
}

test('chunked request bodies decode at every split point; bad framing is refused', () => {
  const wire = '5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nGET /next';
  for (let cut = 0; cut < wire.length - 9; cut++) {
    const r = decode(wire, cut);
    assert.equal(r.body, 'hello 0123456789', `cut ${cut}`);
    assert.equal(r.used, wire.length - 9, `cut ${cut}: stops at the end of the body`);
  }
  for (const bad of ['5\r\nhelloX\r\n0\r\n\r\n', 'z\r\n', '5\nhello\r\n0\r\n\r\n', `${'f'.repeat(16)}\r\n`]) {
    assert.throws(() => decode(bad), RequestError, JSON.stringify(bad));
  }
});

/** Writes `bytes` on a raw socket and collects what comes back until close or `ms`. */
function exchange(bytes: string | string[], ms = 1500): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(gw.port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); resolve({ text, closed: false }); }, ms);
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }); });
    sock.on('error', () => undefined);
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    let i = 0;
    const next = (): void => { if (i < parts.length) sock.write(parts[i++]!, () => setTimeout(next, 20)); };
    next();
  });
}

const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
const urls = (text: string): string[] => [...text.matchAll(/"url":"([^"]*)"/g)].map((m) => m[1]!);

test('pipelined requests (one with a body) are answered in order on one connection', async () => {
  const r = await exchange('GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.deepEqual(statuses(r.text), [200, 200, 200]);
  assert.deepEqual(urls(r.text), ['/one', '/two', '/three']);
  assert.equal(r.closed, false, 'the connection stays open');
});

test('a head and a chunked body arriving in small pieces; leading empty lines are skipped', async () => {
  const parts = ['\r\nPO', 'ST /p HTTP/1.1\r\nHo', 'st: x\r\nTransfer-Encoding: chunked\r\n', '\r\n3\r\nab', 'c\r\n0\r\n', '\r\n'];
  const r = await exchange(parts);
  assert.deepEqual(statuses(r.text), [200]);
  assert.deepEqual(urls(r.text), ['/p']);
});

test('Expect: 100-continue gets an interim 100 before the final answer', async () => {
  const r = await exchange('PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok');
  assert.deepEqual(statuses(r.text), [100, 200]);
  assert.doesNotMatch(r.text.slice(r.text.indexOf('200')), /"expect"/, 'Expect is not forwarded');
});

test('HTTP/1.0: closed after the answer unless keep-alive was asked for', async () => {
  const plain = await exchange('GET /a HTTP/1.0\r\n\r\n');
  assert.deepEqual(statuses(plain.text), [200]);
  assert.ok(plain.closed);
  const kept = await exchange('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 500);
  assert.match(kept.text, /\r\nConnection: keep-alive\r\n/i);
  assert.equal(kept.closed, false);
});

test('refused requests are answered once with a Matrix error and the connection is closed', async () => {
  const before = up.hits;
  for (const [bytes, status] of [
    ['GET / HTTP/1.1\r\n\r\n', 400],
    ['GET / HTTP/1.1\nHost: x\n\n\r\n\r\n', 400],
    ['GET / HTTP/3.0\r\nHost: x\r\n\r\n', 505],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n', 0],
  ] as const) {
    const r = await exchange(bytes);
    assert.ok(r.closed, JSON.stringify(bytes));
    if (status !== 0) {
      assert.deepEqual(statuses(r.text), [status], JSON.stringify(bytes));
      assert.match(r.text, /"errcode":"M_UNKNOWN"/);
    }
    assert.ok(!r.text.includes('/after'), 'nothing after a framing error is served');
  }
  assert.ok(up.hits - before <= 1, 'only the chunked request whose body broke may have reached the upstream');
});

test('the forwarded head is the received one minus hop-by-hop lines (first, middle and last), plus X-Forwarded-*', async () => {
  const r = await exchange('GET /fwd?a=%2F HTTP/1.1\r\nTE: trailers\r\nHost: h.example\r\nX-Keep:  spaced \r\nKeep-Alive: 5\r\nX-Forwarded-For: 6.6.6.6\r\nX-Last: 1\r\nProxy-Connection: x\r\n\r\n', 600);
  const body = r.text.slice(r.text.indexOf('{'));
  const seen = JSON.parse(body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/fwd?a=%2F');
  assert.equal(seen.headers['x-keep'], 'spaced');
  assert.equal(seen.headers['x-last'], '1');
  for (const gone of ['te', 'keep-alive', 'proxy-connection']) assert.equal(seen.headers[gone], undefined, gone);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted peer cannot supply X-Forwarded-For');
  assert.equal(seen.headers['x-forwarded-host'], 'h.example');
  assert.equal(seen.headers['host'], 'h.example');
});

test('idle keep-alive connections are closed and a stalled head gets 408, by the listener sweep', async () => {
  const server = new Http1Server({ maxHeader: 8192, headersTimeout: 1000 }, (_req, res) => {
    res.writeHead(200, ['Content-Length', '2']);
    res.end('ok');
  });
  await server.listen(0, '127.0.0.1');
  const port = (server.server.address() as net.AddressInfo).port;
  const open = (bytes: string): Promise<{ text: string; ms: number }> => new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes));
    let text = '';
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('close', () => resolve({ text, ms: Date.now() - started }));
    sock.on('error', () => undefined);
  });
  try {
    const [idle, stalled] = await Promise.all([open('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), open('GET /b HTTP/1.1\r\nHo')]);
    assert.match(idle.text, /^HTTP\/1\.1 200 /);
    assert.ok(idle.ms >= 900 && idle.ms < 4000, `idle connection closed after ${idle.ms} ms`);
    assert.match(stalled.text, /^HTTP\/1\.1 408 /);
    assert.ok(stalled.ms >= 900 && stalled.ms < 4000, `stalled head answered after ${stalled.ms} ms`);
  } finally {
    server.close();
    server.closeAll();
  }
});

/** A raw client: everything it reads, and a promise of its close. */
function rawClient(port: number): Promise<{ sock: net.Socket; text(): string; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('error', () => undefined);
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('connect', () => resolve({ sock, text: () => text, closed }));
  });
}

test('close() (a reload removed the listener): a started head finishes and is answered with Connection: close; truly idle connections close at once', async () => {
  const waiting: (() => void)[] = [];
  const server = new Http1Server({ maxHeader: 8192, headersTimeout: 60_000 }, (req, res) => {
    const answer = (): void => { res.writeHead(200, ['Content-Length', '2']); res.end('ok'); };
    if (req.head.url === '/slow') waiting.push(answer);
    else answer();
  });
  await server.listen(0, '127.0.0.1');
  const port = (server.server.address() as net.AddressInfo).port;
  try {
    const idle = await rawClient(port);
    idle.sock.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && !idle.text().includes('ok'); i++) await sleep(10);
    const partial = await rawClient(port);
    partial.sock.write('GET /a HTTP/1.1\r\nHost: x\r\n'); // the head has started
    const queued = await rawClient(port);
    const slow = await rawClient(port);
    slow.sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && (waiting.length === 0 || server.connections.size < 4); i++) await sleep(10);
    assert.equal(server.connections.size, 4);
    await sleep(20);
    // bytes read in the same turn as close() wait in the deferred queue (gateway/http1-server.ts deferRead): a request, not idle
    const conn = [...server.connections].find((c) => c.socket.remotePort === queued.sock.localPort)!;
    conn.socket.emit('data', Buffer.from('GET /b HTTP/1.1\r\nHost: x\r\n\r\n'));
    server.close();
    await idle.closed;
    assert.match(idle.text(), /^HTTP\/1\.1 200 /, 'the idle keep-alive connection was closed after its answer');
    partial.sock.write('User-Agent: t\r\n\r\n');
    await partial.closed;
    assert.match(partial.text(), /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n/, `the started head was answered: ${JSON.stringify(partial.text())}`);
    waiting.shift()!();
    await slow.closed;
    assert.match(slow.text(), /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n/, `a request parsed before close() is answered with Connection: close: ${JSON.stringify(slow.text())}`);
    await queued.closed;
    assert.match(queued.text(), /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n/, 'the queued request was answered');
  } finally {
    server.closeAll();
  }
});

test('close(): a head that never finishes still gets 408 by the headers timeout', async () => {
  const server = new Http1Server({ maxHeader: 8192, headersTimeout: 1000 }, (_req, res) => { res.writeHead(200, ['Content-Length', '0']); res.end(); });
  await server.listen(0, '127.0.0.1');
  const port = (server.server.address() as net.AddressInfo).port;
  try {
    const c = await rawClient(port);
    c.sock.write('GET /a HTTP/1.1\r\nHo');
    await sleep(50);
    const started = Date.now();
    server.close();
    await c.closed;
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 4000);
    await new Promise<void>((r) => { if (!server.server.listening) r(); else server.server.once('close', () => r()); });
  } finally {
    server.closeAll();
  }
});
