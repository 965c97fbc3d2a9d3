/**
 * X-Forwarded-* on the way to the upstream. Synapse takes the client address from the first entry
 * of the first X-Forwarded-For field only (synapse/http/site.py XForwardedForRequest), so the
 * gateway sends the one address it resolved, never a chain whose first entry a client wrote.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rawExchange, startUpstream, startGateway, type Upstream, type TestGateway } from './support.ts';

let up: Upstream;
let gw: TestGateway;

before(async () => {
  up = await startUpstream('main');
  gw = await startGateway({
    trusted_proxies: ['127.0.0.1/32', '10.0.0.0/8'],
    upstreams: { main: { servers: [{ name: 'main', url: up.url }], health_check: { enabled: false } } },
  });
});

after(async () => {
  await gw.close();
  await up.close();
});

/** The headers the upstream saw for one raw request (its echo body). */
async function seenHeaders(head: string): Promise<Record<string, string>> {
  const r = await rawExchange(gw.port, head);
  assert.match(r.text, /^HTTP\/1\.1 200 /, r.text.slice(0, 80));
  return (JSON.parse(r.text.slice(r.text.indexOf('{'))) as { headers: Record<string, string> }).headers;
}

test('behind a trusted proxy the upstream gets the resolved client alone, not the chain', async () => {
  const cases: [string, string, string][] = [
    // [what, request head, the client the gateway resolves]
    ['one field, HTTP/1.1', 'GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 7.7.7.7\r\nConnection: close\r\n\r\n', '7.7.7.7'],
    ['two fields, HTTP/1.1', 'GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7\r\nConnection: close\r\n\r\n', '7.7.7.7'],
    ['trusted hops skipped', 'GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 7.7.7.7, 10.1.2.3\r\nConnection: close\r\n\r\n', '7.7.7.7'],
    ['HTTP/1.0 (field by field)', 'GET /a HTTP/1.0\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 7.7.7.7\r\n\r\n', '7.7.7.7'],
    ['no X-Forwarded-For', 'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', '127.0.0.1'],
  ];
  for (const [what, head, client] of cases) {
    const h = await seenHeaders(head);
    assert.equal(h['x-forwarded-for'], client, what);
  }
});

test("a trusted proxy's X-Forwarded-Proto and -Host are kept", async () => {
  const h = await seenHeaders('GET /a HTTP/1.1\r\nHost: inner\r\nX-Forwarded-For: 7.7.7.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: matrix.example.org\r\nConnection: close\r\n\r\n');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-host'], 'matrix.example.org');
  assert.equal(h['host'], 'inner');
});
