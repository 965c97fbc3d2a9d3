/**
 * Upstream responses the gateway must not relay as they are, and upstream connections it must not
 * reuse: Transfer-Encoding with Content-Length (RFC 9112 section 6.3), HTTP/1.0 responses without
 * `Connection: keep-alive` (RFC 9112 section 9.3), response heads over 64 KiB however TCP splits
 * them, and idle pooled connections the upstream closed before their 'close' event. Each case runs
 * against the parser and end to end, with raw TCP upstreams on 127.0.0.1 port 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ResponseParser, ParseError, type ResponseSink } from '../../gateway/http1-parser.ts';
import { ConnectionPool } from '../../gateway/pool.ts';
import { onRequests, rawExchange, rawUpstream, request, startGateway } from './support.ts';

const noHc = { enabled: false };

function gatewayFor(url: string): ReturnType<typeof startGateway> {
  return startGateway({ upstreams: { main: { servers: [{ name: 'm', url }], health_check: noHc } } });
}

interface Parsed { status: number; body: string; keepAlive: boolean | null }

/** Parses `text` delivered in pieces of `piece` bytes (0: one piece); throws what the parser throws. */
function parse(text: string, piece = 0): Parsed {
  const out: Parsed = { status: 0, body: '', keepAlive: null };
  const sink: ResponseSink = {
    onHead: (status) => { out.status = status; },
    onBody: (c) => { out.body += c.toString('latin1'); },
    onComplete: (k) => { out.keepAlive = k; },
  };
  const p = new ResponseParser();
  p.reset(sink, false);
  const buf = Buffer.from(text, 'latin1');
  const step = piece > 0 ? piece : buf.length;
  for (let i = 0; i < buf.length; i += step) p.execute(buf.subarray(i, i + step));
  return out;
}

/** The status line of each response in a raw byte stream from the gateway. */
function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];
}

test('a response with Transfer-Encoding and Content-Length is refused by the parser', () => {
  const heads = [
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n',
  ];
  for (const head of heads) {
    for (const piece of [0, 1, 7]) {
      assert.throws(() => parse(head + '5\r\nhello\r\n0\r\n\r\n', piece), (e) => e instanceof ParseError && /Transfer-Encoding and Content-Length/.test(e.message), JSON.stringify(head));
    }
  }
  // Either one alone still frames the body.
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'), { status: 200, body: 'hello', keepAlive: true });
  assert.deepEqual(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), { status: 200, body: 'hello', keepAlive: true });
});

test('Transfer-Encoding with Content-Length from an upstream: 502 Matrix error, nothing smuggled, connection closed', async () => {
  const inner = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: yes\r\n\r\nsmuggled';
  const up = await rawUpstream((s) => onRequests(s, () => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n' + inner.length.toString(16) + '\r\n' + inner + '\r\n0\r\n\r\n');
  }));
  const gw = await gatewayFor(up.url);
  try {
    const r = await rawExchange(gw.port, 'GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 700);
    assert.deepEqual(statusLines(r.text), ['HTTP/1.1 502 Bad Gateway'], r.text);
    assert.ok(!r.text.includes('smuggled'), r.text);
    const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { errcode: string };
    assert.equal(body.errcode, 'M_UNKNOWN');
    await up.ended(0); // the gateway closed the upstream connection instead of pooling it
  } finally {
    await gw.close();
    await up.close();
  }
});

test('the status line needs a digit after HTTP/1.', () => {
  for (const line of ['HTTP/1.x 200 OK', 'HTTP/1. 200 OK', 'HTTP/2.0 200 OK']) {
    assert.throws(() => parse(`${line}\r\nContent-Length: 0\r\n\r\n`), (e) => e instanceof ParseError && /status line/.test(e.message), line);
  }
  assert.equal(parse('HTTP/1.0 204 No Content\r\n\r\n').status, 204);
});

test('an HTTP/1.0 response keeps its connection only with Connection: keep-alive', () => {
  const cases: [string, boolean][] = [
    ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', false],
    ['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', true],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok', false],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', false],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', true],
    ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', false],
  ];
  for (const [text, keepAlive] of cases) {
    for (const piece of [0, 1, 5]) assert.deepEqual(parse(text, piece), { status: 200, body: 'ok', keepAlive }, JSON.stringify(text));
  }
});

test('an HTTP/1.0 upstream connection is not reused unless the response asked for keep-alive', async () => {
  for (const [connection, reused] of [['', false], ['Connection: keep-alive\r\n', true]] as const) {
    const seen: string[] = [];
    // Answers every request (so a wrongly reused connection would not just hang) and never closes.
    const up = await rawUpstream((s, i) => onRequests(s, (head) => {
      seen.push(`conn${i} ${head.split(' ')[1]}`);
      s.write(`HTTP/1.0 200 OK\r\n${connection}Content-Length: 2\r\n\r\nok`);
    }));
    const gw = await gatewayFor(up.url);
    try {
      assert.equal((await request(gw.port, '/a', { agent: false })).status, 200);
      assert.equal((await request(gw.port, '/b', { agent: false })).status, 200);
      assert.deepEqual(seen, reused ? ['conn0 /a', 'conn0 /b'] : ['conn0 /a', 'conn1 /b'], connection || 'no Connection field');
      if (!reused) await up.ended(0);
    } finally {
      await gw.close();
      await up.close();
    }
  }
});

/** A response whose head is exactly `size` bytes (CRLFCRLF included), with a 2-byte body. */
function headOf(size: number): string {
  const fixed = 'HTTP/1.1 200 OK\r\nX-Big: \r\nContent-Length: 2\r\n\r\n'.length;
  return 'HTTP/1.1 200 OK\r\nX-Big: ' + 'h'.repeat(size - fixed) + '\r\nContent-Length: 2\r\n\r\nok';
}

test('the 64 KiB response head limit holds however the head is split', () => {
  for (const piece of [0, 1000, 8192, 65536, 65537]) {
    assert.deepEqual(parse(headOf(65536), piece), { status: 200, body: 'ok', keepAlive: true }, `64 KiB head in ${piece}-byte pieces`);
    assert.throws(() => parse(headOf(65537), piece), /head too large/, `64 KiB + 1 head in ${piece}-byte pieces`);
    assert.throws(() => parse(headOf(100 * 1024), piece), /head too large/, `100 KiB head in ${piece}-byte pieces`);
  }
});

test('an oversized upstream head is answered 502 whether it arrives in one write or in pieces', async () => {
  const big = headOf(100 * 1024);
  const up = await rawUpstream((s) => onRequests(s, async (head) => {
    if (head.startsWith('GET /one')) return void s.write(big);
    for (let i = 0; i < big.length; i += 8192) {
      s.write(big.slice(i, i + 8192));
      await new Promise((r) => setTimeout(r, 2));
    }
  }));
  const gw = await gatewayFor(up.url);
  try {
    for (const path of ['/one', '/pieces']) {
      const r = await rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 1500);
      assert.deepEqual(statusLines(r.text), ['HTTP/1.1 502 Bad Gateway'], `${path}: ${r.text.slice(0, 80)}`);
      assert.ok(!r.text.includes('hhhh'), path);
    }
  } finally {
    await gw.close();
    await up.close();
  }
});

test('an idle connection the upstream closed is not handed out before its close event', async () => {
  let accepted: (s: net.Socket) => void = () => undefined;
  const upstreamSide = new Promise<net.Socket>((r) => { accepted = r; });
  const up = await rawUpstream((s) => accepted(s));
  const pool = new ConnectionPool({ host: '127.0.0.1', port: up.port }, { maxIdle: 4, idleTimeout: 60_000 });
  try {
    const conn = await new Promise<ReturnType<ConnectionPool['connect']>>((resolve) => { const c = pool.connect(() => resolve(c)); });
    pool.release(conn);
    assert.equal(pool.takeIdle(), conn, 'a live idle connection is reused');
    pool.release(conn);
    // Runs right after the connection's own 'end' handler (registered first): the socket is
    // closed, but its 'close' event, which takes it off the idle list, has not come yet.
    const taken = new Promise<string>((resolve) => conn.socket.once('end', () => {
      const c = pool.takeIdle();
      resolve(c === null ? 'none' : `a connection with closed=${c.closed}`);
    }));
    (await upstreamSide).end(); // the upstream's keep-alive timeout
    assert.equal(await taken, 'none');
    assert.equal(pool.idleCount, 0);
  } finally {
    pool.closeIdle();
    await up.close();
  }
});
