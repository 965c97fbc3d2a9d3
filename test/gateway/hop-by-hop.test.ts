/**
 * Fields named in `Connection` are hop-by-hop in both directions (RFC 9110 section 7.6.1), and
 * the Connection field is a list that may be split over several field lines (RFC 9110 section
 * 5.3): the names from every line are dropped, not only those from the last one. Raw sockets, so
 * the field lines go out exactly as written.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rawExchange, startUpstream, startGateway, type Upstream, type TestGateway } from './support.ts';

let up: Upstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream('main', (req, res) => {
    if (req.url !== '/split-response') return false;
    req.resume();
    res.writeHead(200, [
      'Connection', 'x-a', 'X-A', 'a', 'Content-Type', 'text/plain', 'Connection', 'x-b', 'X-B', 'b', 'X-C', 'c', 'Content-Length', '2',
    ]);
    res.end('ok');
    return true;
  });
  gw = await startGateway({ upstreams: { main: { servers: [{ name: 'main', url: up.url }], health_check: { enabled: false } } } });
});

after(async () => {
  await gw.close();
  await up.close();
});

/** Sends one raw request (it asks for the connection to close); resolves with everything read until the close. */
/** What the gateway sends back for `bytes` up to its close (it must close within 5 s). */
async function raw(port: number, bytes: string): Promise<string> {
  const r = await rawExchange(port, bytes, 5000);
  assert.ok(r.closed, `no close; read so far:\n${r.text}`);
  return r.text;
}

/** The field lines of a raw response's head, lower-cased names to values. */
function responseFields(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return fields;
}

for (const version of ['1.1', '1.0']) {
  test(`request (HTTP/${version}): fields named on any of several Connection lines do not reach the upstream`, async () => {
    const text = await raw(gw.port, [
      `GET /split-request HTTP/${version}`, 'Host: x', 'Connection: x-a', 'X-A: a', 'Connection: x-b', 'X-B: b', 'X-C: c', 'Connection: close', '', '',
    ].join('\r\n'));
    assert.match(text, /^HTTP\/1\.1 200 /);
    const seen = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-a'], undefined, 'named on the first Connection line');
    assert.equal(seen.headers['x-b'], undefined, 'named on the second Connection line');
    assert.equal(seen.headers['x-c'], 'c', 'a field no Connection line names is forwarded');
  });
}

test('response: fields named on any of several Connection lines do not reach the client', async () => {
  const text = await raw(gw.port, 'GET /split-response HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 /);
  const fields = responseFields(text);
  assert.equal(fields.get('x-a'), undefined, 'named on the first Connection line');
  assert.equal(fields.get('x-b'), undefined, 'named on the second Connection line');
  assert.deepEqual(fields.get('x-c'), ['c'], 'a field no Connection line names is forwarded');
  assert.ok(text.endsWith('\r\n\r\nok'), 'the body follows');
});
