/**
 * Streaming (issue 3, point 1): a 200 MB upload passes through a gateway child process while its
 * resident memory grows by less than 50 MB, and a 200 MB download streams back the same way.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { startUpstream, routesDoc, writeRoutes, spawnGateway, rssOf, type Upstream, type ChildGateway } from './support.ts';

const SIZE = 200 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'z');
let received = 0;
let up: Upstream;
let gw: ChildGateway;

before(async () => {
  up = await startUpstream('media', (req, res) => {
    if (req.method === 'POST') {
      req.on('data', (c: Buffer) => { received += c.length; });
      req.on('end', () => res.end(JSON.stringify({ received })));
      return true;
    }
    if (req.url === '/download') {
      res.writeHead(200, { 'content-length': SIZE });
      Readable.from((function* () { for (let n = 0; n < SIZE; n += CHUNK.length) yield CHUNK; })()).pipe(res);
      return true;
    }
    return false;
  });
  const file = writeRoutes(routesDoc({
    upstreams: { media: { servers: [{ name: 'media', url: up.url }], health_check: { enabled: false } } },
    default_upstream: 'media',
    limits: { max_body: '300M' },
  }));
  gw = await spawnGateway(file, ['--no-access-log']);
});

after(async () => {
  await gw.stop();
  await up.close();
});

/** Samples the gateway's RSS every 20 ms while `work` runs; returns the peak. */
async function peakRss(pid: number, work: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void work.finally(() => { done = true; });
  while (!done) {
    peak = Math.max(peak, await rssOf(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  await work;
  return peak;
}

test('a 200 MB upload streams through with < 50 MB RSS growth', async () => {
  const pid = gw.child.pid!;
  const base = await rssOf(pid);
  const upload = new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/_matrix/media/v3/upload', method: 'POST', headers: { 'content-length': SIZE, 'content-type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    Readable.from((function* () { for (let n = 0; n < SIZE; n += CHUNK.length) yield CHUNK; })()).pipe(req);
  });
  const peak = await peakRss(pid, upload);
  assert.deepEqual(JSON.parse(await upload), { received: SIZE });
  const growth = peak - base;
  assert.ok(growth < 50 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
});

test('a 200 MB download streams back with < 50 MB RSS growth', async () => {
  const pid = gw.child.pid!;
  const base = await rssOf(pid);
  const download = new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: gw.port, path: '/download' }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => { n += d.length; });
      res.on('end', () => resolve(n));
    }).on('error', reject);
  });
  const peak = await peakRss(pid, download);
  assert.equal(await download, SIZE);
  assert.ok(peak - base < 50 * 1024 * 1024, `RSS grew by ${((peak - base) / 1048576).toFixed(1)} MB`);
});
