/**
 * The upstream response parser (gateway/http1-parser.ts): framing by Content-Length, chunked
 * coding and connection close, interim responses, and rejection of malformed framing; every
 * response is also fed split at every byte boundary, as TCP may deliver it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseParser, ParseError, type ResponseSink } from '../../gateway/http1-parser.ts';

interface Parsed { status: number; headers: string[]; drops?: number[] | null; body: string; keepAlive: boolean | null }

function sink(out: Parsed): ResponseSink {
  return {
    onHead: (status, head) => { out.status = status; out.headers = head.fields(); out.drops = head.drops; },
    onBody: (c) => { out.body += c.toString('latin1'); },
    onComplete: (k) => { out.keepAlive = k; },
  };
}

/** Parses `text` delivered in pieces cut at `cuts`. */
function parse(text: string, cuts: number[] = [], head = false, eof = false): Parsed {
  const out: Parsed = { status: 0, headers: [], body: '', keepAlive: null };
  const p = new ResponseParser();
  p.reset(sink(out), head);
  const buf = Buffer.from(text, 'latin1');
  let from = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > from) p.execute(buf.subarray(from, c));
    from = Math.max(from, c);
  }
  if (eof) p.eof();
  return out;
}

/** Asserts the same result for every single split point. */
function everySplit(text: string, expected: Omit<Parsed, 'headers'>, head = false, eof = false): void {
  for (let i = 0; i <= text.length; i++) {
    const r = parse(text, [i], head, eof);
    assert.deepEqual({ status: r.status, body: r.body, keepAlive: r.keepAlive }, expected, `split at ${i}`);
  }
}

test('content-length framing', () => {
  everySplit('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello', { status: 200, body: 'hello', keepAlive: true });
  const r = parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Upstream:  main \r\n\r\n');
  assert.deepEqual(r.headers, ['Content-Length', '0', 'X-Upstream', 'main']);
});

test('hop-by-hop field lines are located as byte ranges of the head (names case-insensitive)', () => {
  const text = 'HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 0\r\nCONNECTION: keep-alive\r\nX-A: b\r\nte: x\r\n\r\n';
  const r = parse(text);
  assert.equal(r.status, 200);
  const kept = (r.drops ?? []).reduce((acc, _v, i, d) => (i % 2 === 0 ? acc.replace(text.slice(d[i]!, d[i + 1]!), '') : acc), text);
  assert.equal(kept, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: b\r\n\r\n');
});

test('chunked framing with extensions and trailers is decoded', () => {
  const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
  everySplit(text, { status: 200, body: 'hello world', keepAlive: true });
});

test('close-delimited body ends at EOF and the connection is not reused', () => {
  everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close', { status: 200, body: 'until close', keepAlive: false }, false, true);
});

test('HEAD, 204 and 304 have no body; Connection: close is honoured', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', [], true).keepAlive, true);
  assert.equal(parse('HTTP/1.1 204 No Content\r\n\r\n').keepAlive, true);
  assert.equal(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').keepAlive, true);
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx').keepAlive, false);
});

test('interim 1xx responses are skipped', () => {
  everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', { status: 201, body: 'ok', keepAlive: true });
});

test('malformed framing is rejected', () => {
  const bad = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n\r\n',
    'SPDY/3 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA',
    'HTTP/1.1 200 OK\r\nX-A: a\nX-Injected: b\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX A: a\r\n\r\n',
    'HTTP/1.1 20x OK\r\n\r\n',
  ];
  for (const text of bad) assert.throws(() => parse(text), ParseError, JSON.stringify(text));
  assert.throws(() => parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel', [], false, true), ParseError, 'EOF mid-body');
});

test('a chunk\'s data ends in CRLF or a bare LF, and in no other byte before the LF', () => {
  const chunked = (end: string): string => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc${end}0\r\n\r\n`;
  everySplit(chunked('\r\n'), { status: 200, body: 'abc', keepAlive: true });
  everySplit(chunked('\n'), { status: 200, body: 'abc', keepAlive: true });
  for (const end of ['x\n', '\t\n', '\r\r\n', 'xy\n']) {
    const text = chunked(end);
    for (let i = 0; i <= text.length; i++) {
      assert.throws(() => parse(text, [i]), (e) => e instanceof ParseError && e.message === 'missing CRLF after chunk', `${JSON.stringify(end)} split at ${i}`);
    }
  }
});

test('chunk-size and trailer lines are limited to 4096 bytes however the bytes are split', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  // A line of `n` bytes with its CRLF: a chunk-size line with an extension, or a trailer field.
  const sizeLine = (n: number): string => `${head}1;${'e'.repeat(n - 4)}\r\nx\r\n0\r\n\r\n`;
  const trailer = (n: number): string => `${head}1\r\nx\r\n0\r\nX-T: ${'t'.repeat(n - 7)}\r\n\r\n`;
  const pieces = { 'one piece': (_text: string): number[] => [], 'byte by byte': (text: string): number[] => Array.from(text, (_c, i) => i) };
  for (const [make, message] of [[sizeLine, 'chunk size line too long'], [trailer, 'trailer line too long']] as const) {
    for (const [how, cuts] of Object.entries(pieces)) {
      const fits = make(4096);
      const r = parse(fits, cuts(fits));
      assert.deepEqual([r.body, r.keepAlive], ['x', true], `${message}: 4096 bytes, ${how}`);
      for (const n of [4097, 5000]) {
        const text = make(n);
        assert.throws(() => parse(text, cuts(text)), (e) => e instanceof ParseError && e.message === message, `${message}: ${n} bytes, ${how}`);
      }
    }
  }
});
