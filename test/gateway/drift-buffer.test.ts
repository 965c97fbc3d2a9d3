/**
 * Drift safety holds a worker's 404/405 back only while it can still be an M_UNRECOGNIZED error
 * (at most 64 KB): past that the gateway stops buffering and streams the answer through (no
 * replay), so a large or never-ending 404 reaches the client as it arrives, with backpressure,
 * instead of being held whole in memory.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftBuffer, isDriftAnswer } from '../../gateway/drift.ts';
import { startUpstream, startGateway, request, type Upstream, type TestGateway } from './support.ts';

const KB = 1024;
let worker: Upstream;
let main: Upstream;
let gw: TestGateway;
/** Bytes the worker's current endless answer has handed to its socket (each write accepted or drained). */
let written = 0;
let workerClosed = false;

before(async () => {
  worker = await startUpstream('old-worker', (req, res) => {
    req.resume();
    const url = req.url ?? '';
    res.writeHead(404, { 'content-type': 'application/json', 'x-upstream': 'old-worker' });
    if (url.startsWith('/_matrix/client/v3/big')) {
      // A multi-MB 404 that ends: arrives whole and unchanged.
      const chunk = Buffer.alloc(64 * KB, 'b');
      let left = 8 * 1024 * KB;
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (url.startsWith('/_matrix/client/v3/stalled')) {
      // 100 KB, then the answer stays open without another byte.
      res.write(Buffer.alloc(100 * KB, 's'));
    } else if (url.startsWith('/_matrix/client/v3/endless')) {
      // Never ends: writes as fast as the gateway takes it.
      written = 0;
      workerClosed = false;
      const chunk = Buffer.alloc(64 * KB, 'e');
      let stop = false;
      res.on('close', () => { stop = true; workerClosed = true; });
      const pump = (): void => {
        while (!stop) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    } else {
      res.end('{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
    }
    return true;
  });
  main = await startUpstream('main');
  const noHc = { enabled: false };
  gw = await startGateway({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: noHc },
      old: { servers: [{ name: 'old-worker', url: worker.url }], health_check: noHc },
    },
    routes: [{ name: 'old', match: { paths: ['^/_matrix/client/v3/'] }, upstream: 'old' }],
  });
});

after(async () => {
  await gw.close();
  await worker.close();
  await main.close();
});

/** Starts a GET; resolves with the response once its head arrives (the body not read yet). */
function open(path: string): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: gw.port, path, agent: false }, (res) => resolve({ req, res }));
    req.on('error', reject);
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => { throw new Error(`${what}: nothing within ${ms} ms`); })]);
}

async function driftCount(): Promise<number> {
  const m = /gateway_routing_drift_total\{route="old",server="old-worker"\} (\d+)/.exec((await request(gw.adminPort, '/metrics')).body);
  return m ? Number(m[1]) : 0;
}

test('DriftBuffer keeps at most 64 KB: add() refuses the chunk that would pass the limit', () => {
  const buf = new DriftBuffer(404, []);
  assert.equal(buf.add(Buffer.alloc(60 * KB)), true);
  assert.equal(buf.add(Buffer.alloc(4 * KB)), true, 'exactly 64 KB is still kept');
  assert.equal(buf.add(Buffer.alloc(1)), false);
  assert.equal(buf.size, 64 * KB);
  assert.equal(buf.chunks.length, 2);
  const unrec = new DriftBuffer(404, []);
  unrec.add(Buffer.from('{"errcode":"M_UNRECOGNIZED"}'));
  assert.equal(isDriftAnswer(unrec), true);
});

test('drift: the M_UNRECOGNIZED 404 is still replayed to main', async () => {
  const before = await driftCount();
  const r = await request(gw.port, '/_matrix/client/v3/capabilities');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'main');
  assert.equal(await driftCount(), before + 1);
});

test('drift: a 404 whose body passes 64 KB and then stalls reaches the client without waiting for its end', async () => {
  const { req, res } = await within(open('/_matrix/client/v3/stalled'), 5000, 'the 404 head');
  try {
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-upstream'], 'old-worker');
    let got = 0;
    await within(new Promise<void>((resolve) => res.on('data', (c: Buffer) => { got += c.length; if (got >= 100 * KB) resolve(); })), 5000, 'the 100 KB body');
    assert.equal(got, 100 * KB);
  } finally {
    req.destroy();
  }
  // The client's close ends the exchange (no exchange is left holding the open answer).
  let inFlight = -1;
  for (let i = 0; i < 40 && inFlight !== 0; i++) {
    if (i > 0) await sleep(50);
    inFlight = (JSON.parse((await request(gw.adminPort, '/status')).body) as { in_flight: number }).in_flight;
  }
  assert.equal(inFlight, 0);
});

test('drift: a multi-MB 404 streams through whole, and is not replayed', async () => {
  const before = await driftCount();
  const r = await within(request(gw.port, '/_matrix/client/v3/big'), 20_000, 'the 8 MB 404');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-upstream'], 'old-worker');
  assert.equal(r.body.length, 8 * 1024 * KB);
  assert.ok(/^b+$/.test(r.body), 'the body arrives unchanged');
  assert.equal(await driftCount(), before, 'no drift replay');
  const status = JSON.parse((await request(gw.adminPort, '/status')).body) as { in_flight: number };
  assert.equal(status.in_flight, 0);
  const again = await request(gw.port, '/_matrix/client/v3/big');
  assert.equal(again.body.length, 8 * 1024 * KB, 'the kept-alive connection to the worker serves the next answer');
});

test('drift: an endless 404 streams with backpressure: a client that does not read stops the worker instead of filling the gateway', async () => {
  const { req, res } = await within(open('/_matrix/client/v3/endless'), 5000, 'the 404 head');
  assert.equal(res.statusCode, 404);
  let got = 0;
  await within(new Promise<void>((resolve) => {
    const onData = (c: Buffer): void => {
      got += c.length;
      if (got >= 1024 * KB) { res.off('data', onData); res.pause(); resolve(); }
    };
    res.on('data', onData);
  }), 5000, 'the first MB');
  // The client stops reading: socket buffers fill, then the worker's writes stall.
  await sleep(1000);
  const w1 = written;
  await sleep(1000);
  const w2 = written;
  assert.ok(w2 - w1 <= 512 * KB, `the worker kept writing while the client did not read: ${w1} -> ${w2} bytes`);
  assert.ok(w1 < 64 * 1024 * KB, `the worker wrote ${w1} bytes for a client that read ${got}`);
  req.destroy();
  for (let i = 0; i < 50 && !workerClosed; i++) await sleep(50);
  assert.ok(workerClosed, 'the client closing closed the worker exchange');
});
