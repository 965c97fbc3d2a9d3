/**
 * Security of the data plane on raw sockets (issue 3, point 7): replication 404 and admin 403 on
 * public listeners, dot-segments and control bytes 400, oversized headers 431, smuggling shapes
 * 400 with the connection closed, and access tokens never in the access log.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeRequest } from '../../gateway/handler.ts';
import { LINE_TERMINATOR } from '../../routing/dfa.ts';
import { parseRequestHead, RequestError } from '../../gateway/http1-request.ts';
import { rawExchange, startUpstream, startGateway, request, type Upstream, type TestGateway } from './support.ts';

let up: Upstream;
let gw: TestGateway;
let gwAllow: TestGateway;
const logFile = join(mkdtempSync(join(tmpdir(), 'switchyard-log-')), 'access.log');

before(async () => {
  up = await startUpstream('main');
  const upstreams = { main: { servers: [{ name: 'main', url: up.url }], health_check: { enabled: false } } };
  gw = await startGateway({ upstreams, limits: { max_header: '8k' } }, { kind: 'file', path: logFile });
  gwAllow = await startGateway({ upstreams, access: { admin_allow: ['127.0.0.0/8'] } });
});

after(async () => {
  await gw.close();
  await gwAllow.close();
  await up.close();
});

/** Sends raw bytes; resolves with everything read until the server closes (or 2 s pass). */
const status = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

test('/_synapse/replication answers 404 on a public listener, in every spelling', async () => {
  const before = up.hits;
  for (const p of ['/_synapse/replication/send_event/x', '/_synapse/%72eplication/x', '//_synapse/replication/x']) {
    const r = await request(gw.port, p);
    assert.equal(r.status, 404, p);
  }
  const allowed = await request(gwAllow.port, '/_synapse/replication/x');
  assert.equal(allowed.status, 404, 'admin_allow never opens replication');
  assert.equal(up.hits, before, 'nothing reached the upstream');
});

test('/_synapse/admin answers 403 unless the client address is allowed', async () => {
  const denied = await request(gw.port, '/_synapse/admin/v1/users');
  assert.equal(denied.status, 403);
  assert.equal((JSON.parse(denied.body) as { errcode: string }).errcode, 'M_FORBIDDEN');
  const allowed = await request(gwAllow.port, '/_synapse/admin/v1/users');
  assert.equal(allowed.status, 200);
  const onAdminListener = await request(gw.adminPort, '/_synapse/admin/v1/users');
  assert.equal(onAdminListener.status, 200, 'the admin listener may reach the admin API');
});

test('dot-segments (also %2e) and control bytes get 400', async () => {
  for (const target of ['/_matrix/client/../../_synapse/admin', '/a/./b', '/a/%2e%2E/b', '/a/%2e/b', '/a/b/..', '/a%00b', '/a%0d%0ab']) {
    const r = await rawExchange(gw.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(status(r.text), 400, target);
  }
  for (const byte of ['\x01', '\x7f', '\x00', '\t', '\r', '\x0b']) {
    const ctl = await rawExchange(gw.port, `GET /a${byte}b HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(status(ctl.text), 400, JSON.stringify(byte));
    assert.ok(ctl.closed);
  }
  const fine = await request(gw.port, '/_matrix/client/v3/rooms/!a:b/send/m.room.message/t1.2');
  assert.equal(fine.status, 200, 'dots inside a segment are fine');
});

test('the router is told a parsed path has no line terminator only because the request line admits none', () => {
  // routeRequest sets plainPath (the DFA then skips its own search for CR, LF, U+2028, U+2029).
  for (const unit of ['\r', '\n', '\x0b']) {
    assert.throws(() => parseRequestHead(`GET /_matrix/client/v3/rooms/!a${unit}b/messages HTTP/1.1\r\nHost: x`),
      (e: unknown) => e instanceof RequestError && e.status === 400, JSON.stringify(unit));
  }
  const rr = routeRequest(parseRequestHead('GET /_matrix/client/v3/rooms/!a\xe9b:c/messages?x=1 HTTP/1.1\r\nHost: x'), '127.0.0.1');
  assert.equal(rr.plainPath, true);
  assert.equal(rr.path, '/_matrix/client/v3/rooms/!a\xe9b:c/messages');
  assert.doesNotMatch(rr.path, LINE_TERMINATOR);
});

test('oversized headers get 431', async () => {
  const r = await rawExchange(gw.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
  assert.equal(status(r.text), 431);
  assert.ok(r.closed);
  assert.match(r.text, /"errcode":"M_UNKNOWN"/);
});

/** A whole request written as another request's body (50 bytes). */
const HIDDEN = 'GET /_synapse/admin/v1/users HTTP/1.1\r\nHost: x\r\n\r\n';

test('smuggling shapes get 400 and the connection is closed', async () => {
  const before = up.hits;
  const cases = {
    'CL + TE': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    'differing duplicate CL': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
    'TE not chunked last': 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    'space before colon': 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    'equal duplicate CL': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    // Dropping a field the Connection header names must not take the body's length off the forwarded head.
    'Connection names Content-Length': `POST /_matrix/client/v3/x HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: 50\r\n\r\n${HIDDEN}`,
    'Connection names Content-Length, HTTP/1.0': `POST /_matrix/client/v3/x HTTP/1.0\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 50\r\n\r\n${HIDDEN}`,
    'Connection names Host': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: host\r\n\r\n',
    'two Host lines on HTTP/1.0': 'GET / HTTP/1.0\r\nHost: a.example\r\nHost: b.example\r\n\r\n',
    'Host with a space': 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
    'Host with a path': 'GET / HTTP/1.1\r\nHost: a.example/_synapse/admin?\r\n\r\n',
    'fragment in the target': 'GET /_matrix/client/v3/sync#frag HTTP/1.1\r\nHost: x\r\n\r\n',
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const r = await rawExchange(gw.port, bytes);
    assert.equal(status(r.text), 400, name);
    assert.ok(r.closed, `${name}: connection closed`);
    assert.equal((r.text.match(/HTTP\/1\.1/g) ?? []).length, 1, `${name}: exactly one answer`);
  }
  assert.equal(up.hits, before, 'no smuggled request reached the upstream');
});

test('a request pipelined behind one the gateway answers itself and closes on is never forwarded', async () => {
  const before = up.hits;
  const next = 'POST /_matrix/client/v3/second HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
  const firsts = {
    'refused target (400)': 'GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n',
    'replication with Connection: close (404)': 'GET /_synapse/replication/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'admin on HTTP/1.0 without keep-alive (403)': 'GET /_synapse/admin/v1/users HTTP/1.0\r\n\r\n',
  };
  for (const [name, first] of Object.entries(firsts)) {
    const r = await rawExchange(gw.port, first + next);
    assert.ok([400, 403, 404].includes(status(r.text)), `${name}: ${r.text.slice(0, 40)}`);
    assert.ok(r.closed, `${name}: connection closed`);
    assert.equal((r.text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length, 1, `${name}: exactly one answer`);
  }
  assert.equal(up.hits, before, 'the pipelined request did not reach the upstream');
});

test('absolute-form targets are routed and forwarded in origin-form, with Host from the target (RFC 9112 section 3.2.2)', async () => {
  const seen = async (head: string) => {
    const r = await rawExchange(gw.port, head);
    assert.equal(status(r.text), 200, r.text.slice(0, 60));
    return JSON.parse(r.text.slice(r.text.indexOf('{'))) as { url: string; headers: Record<string, string> };
  };
  const a = await seen('GET http://matrix.example.org/_matrix/client/versions?x=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n');
  assert.equal(a.url, '/_matrix/client/versions?x=1');
  assert.equal(a.headers['host'], 'matrix.example.org');
  assert.equal(a.headers['x-forwarded-host'], 'matrix.example.org');
  const b = await seen('GET HTTPS://matrix.example.org:8448?since=s1 HTTP/1.0\r\n\r\n');
  assert.equal(b.url, '/?since=s1');
  assert.equal(b.headers['host'], 'matrix.example.org:8448');
  // The denials see the origin-form path.
  const before = up.hits;
  assert.equal(status((await rawExchange(gw.port, 'GET http://x/_synapse/replication/x HTTP/1.1\r\nHost: x\r\n\r\n')).text), 404);
  assert.equal(status((await rawExchange(gw.port, 'GET http://x/_synapse/admin/v1/users HTTP/1.1\r\nHost: x\r\n\r\n')).text), 403);
  for (const bad of ['GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET http://u@x/a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET ftp://x/a HTTP/1.1\r\nHost: x\r\n\r\n']) {
    assert.equal(status((await rawExchange(gw.port, bad)).text), 400, bad);
  }
  assert.equal(up.hits, before, 'no denied or refused request reached the upstream');
});

test('access tokens never appear in the access log (header or query)', async () => {
  const headerToken = 'syt_aGVhZGVydXNlcg_SecretHeaderTokenAbc_1x2y3z';
  const queryToken = 'syt_cXVlcnl1c2Vy_SecretQueryTokenXyz_4a5b6c';
  await request(gw.port, '/_matrix/client/v3/sync?since=s1', { headers: { authorization: `Bearer ${headerToken}` } });
  await request(gw.port, `/_matrix/client/v3/sync?since=s2&access_token=${queryToken}&timeout=0`);
  await request(gw.port, `/_synapse/admin/v1/x?access_token=${queryToken}`);
  await request(gw.port, `/_matrix/client/v3/login/sso/redirect?loginToken=${queryToken}`);
  gw.gw.accessLog.flush();
  await sleep(100);
  const log = readFileSync(logFile, 'utf8');
  assert.ok(log.split('\n').filter(Boolean).length >= 4, 'the requests were logged');
  assert.ok(!log.includes('SecretHeaderToken') && !log.includes('SecretQueryToken'), 'no token in the log');
  assert.match(log, /access_token=<redacted>/);
  const entry = JSON.parse(log.split('\n')[0]!) as Record<string, unknown>;
  for (const k of ['method', 'path', 'route', 'upstream', 'server', 'status', 'duration_ms', 'bytes']) assert.ok(k in entry, k);
});
