/**
 * `gateway loadtest --scenario routing` against real HTTP servers on port 0 and through a real
 * gateway (issue 6, point 3): the JSON shape, per-route numbers that add up to what the servers
 * saw, the server distribution from X-Switchyard-Server, the offered rate, the bounded duration,
 * the progress display, and the refusal of non-loopback targets.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoop } from '../../gateway/loadtest/loop.ts';
import { checkTarget, connectOptions, isLoopbackHost, loopbackLookup } from '../../gateway/loadtest/target.ts';
import type { RoutingResult } from '../../gateway/loadtest/routing.ts';
import type { MessagingResult } from '../../gateway/loadtest/messaging.ts';
import { SimulateError } from '../../routing/simulate/errors.ts';
import { ROOT, startGateway, startUpstream, type Upstream } from './support.ts';

const exec = promisify(execFile);
const loadtest = (args: string[]) => exec(process.execPath, ['gateway/cli.ts', 'loadtest', ...args], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 << 20 });

/** A plain server that records what it was sent. */
async function recordingServer(handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: { method: string; url: string; auth: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { seen, port, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('loadtest routing scenario against a node http server', () => {
  it('replays the Matrix mix and reports per-route numbers that add up to what the server saw', async () => {
    const srv = await recordingServer();
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '1.5', '--warmup', '0', '--connections', '4', '--json']);
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.scenario, 'routing');
      assert.equal(r.connections, 4);
      assert.equal(r.warmupS, 0);
      assert.equal(r.rate, null);
      assert.equal(r.requests, srv.seen.length, 'every request reached the server once');
      assert.equal(r.statuses['200'], r.requests);
      assert.deepEqual(r.errors, {});
      assert.equal(r.serverHeader, null);
      assert.equal(r.routes.reduce((s, x) => s + x.requests, 0), r.requests);
      for (const route of r.routes) {
        for (const k of ['count', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'] as const) assert.equal(typeof route.latencyMs[k], 'number');
        assert.ok(route.latencyMs.p50 <= route.latencyMs.p99 && route.latencyMs.p99 <= route.latencyMs.max);
      }
      const sync = r.routes.find((x) => x.route === 'sync')!;
      assert.ok(sync.requests > r.requests * 0.4, 'sync dominates the mix');
      // The traffic is realistic on the wire: tokens in both places, both room-ID spellings, X-Matrix.
      assert.ok(srv.seen.some((s) => s.auth?.startsWith('Bearer syt_')));
      assert.ok(srv.seen.some((s) => /[?&]access_token=syt_/.test(s.url)));
      assert.ok(srv.seen.some((s) => s.url.includes('/rooms/%21')));
      assert.ok(srv.seen.some((s) => s.auth?.startsWith('X-Matrix origin=')));
      assert.ok(srv.seen.filter((s) => s.url.includes('/sync?since=')).every((s) => s.url.includes('timeout=0')), 'no long polls');
    } finally {
      await srv.close();
    }
  });

  it('offers the requested rate (±10 %) in open-loop mode', async () => {
    const srv = await recordingServer();
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '2', '--connections', '8', '--rate', '150', '--json']);
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.rate, 150);
      assert.equal(r.warmupS, 1, 'one second of unmeasured warm-up by default');
      assert.ok(Math.abs(r.requests - 300) <= 30, `${r.requests} measured requests for 150/s × 2 s`);
      assert.ok(Math.abs(srv.seen.length - 450) <= 45, `${srv.seen.length} requests sent in all (warm-up included)`);
    } finally {
      await srv.close();
    }
  });

  it('divides by the --duration window at a low rate (not by the time of the last ticket)', async () => {
    const srv = await recordingServer();
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '2', '--warmup', '0', '--connections', '2', '--rate', '2', '--json']);
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.requests, 4, 'tickets at 0, 0.5, 1 and 1.5 s');
      assert.equal(r.completed, 4);
      assert.equal(r.durationS, 2);
      assert.equal(r.requestsPerSecond, 2);
    } finally {
      await srv.close();
    }
  });

  it('counts tickets that fell due while every connection was blocked, with their latency, and warns', async () => {
    // Answers the first 10 requests, then holds every request open: both connections block.
    let n = 0;
    const srv = await recordingServer((req, res) => { if (++n <= 10) { req.resume(); req.on('end', () => res.end('{}')); } });
    try {
      const { stdout, stderr } = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '1', '--warmup', '0', '--connections', '2', '--rate', '50', '--json']);
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.completed, 10);
      assert.equal(r.aborted, 2, 'the two blocked requests');
      assert.equal(r.requests, 12);
      assert.equal(r.notSent, 50 - 12, 'every other ticket due in the 1 s window is counted, not dropped');
      assert.equal(r.errors.not_sent, r.notSent);
      assert.equal(r.latencyMs.count, 50, 'completed, aborted and unsent requests are all in the histogram');
      // The unsent and aborted ones waited from their due time to the end of the run (1 s + 2 s grace).
      assert.ok(r.latencyMs.p50 >= 2000, `p50 ${r.latencyMs.p50} ms`);
      assert.ok(r.latencyMs.max >= 2700, `max ${r.latencyMs.max} ms`);
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0]!, /achieved 12 requests\/s, well below the offered 50\/s: 38 requests/);
      assert.match(stderr, /warning: achieved 12 requests\/s/);
    } finally {
      await srv.close();
    }
  });

  it('stops at the deadline even when the target never answers', async () => {
    const srv = await recordingServer(() => { /* hold every request open */ });
    try {
      const started = performance.now();
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '1', '--warmup', '0', '--connections', '3', '--json']);
      const took = performance.now() - started;
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.errors.aborted_at_deadline, 3, 'each connection\'s stuck request was aborted');
      assert.equal(r.aborted, 3);
      assert.equal(r.completed, 0);
      assert.equal(r.requestsPerSecond, 0, 'unanswered requests are not throughput');
      assert.equal(r.durationS, 1, 'the measured window is --duration, not duration + grace');
      // Duration 1 s + 2 s grace + process start: bounded, with generous slack for a busy machine.
      assert.ok(took < 20_000, `took ${took} ms`);
      assert.ok(r.elapsedS <= 3.2, `elapsedS ${r.elapsedS}`);
    } finally {
      await srv.close();
    }
  });

  it('returns at the hard deadline even when a request ignores the abort (undici while connecting)', async () => {
    const started = performance.now();
    const stuck = runLoop({ durationMs: 200, connections: 2, rate: null, graceMs: 200 }, () => new Promise<void>(() => { /* never settles */ }));
    const outcome = await Promise.race([stuck.then(() => 'returned'), sleep(3000).then(() => 'hung')]);
    assert.equal(outcome, 'returned');
    assert.ok(performance.now() - started < 1000, `returned after ${performance.now() - started} ms`);
  });

  it('prints plain progress lines when stdout is not a terminal, a redrawn bar when asked', async () => {
    const srv = await recordingServer();
    try {
      const lines = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '2.2', '--connections', '2']);
      assert.match(lines.stdout, /^progress \d+\.\ds\/3s \d+ requests, 0 errors$/m);
      assert.match(lines.stdout, /route\s+requests\s+p50 ms/);
      const bar = await loadtest(['--target', `http://127.0.0.1:${srv.port}`, '--scenario', 'routing', '--duration', '1', '--connections', '2', '--progress', 'bar']);
      assert.match(bar.stdout, /\r\x1b\[2K\[#*\.*\] /);
    } finally {
      await srv.close();
    }
  });
});

describe('loadtest routing scenario through the gateway', () => {
  const ups: Upstream[] = [];
  after(async () => { await Promise.all(ups.map((u) => u.close())); });

  it('reports the distribution over servers from X-Switchyard-Server', async () => {
    for (const n of ['main', 'sync1', 'sync2', 'sync3', 'event1', 'event2']) ups.push(await startUpstream(n));
    const url = (n: string) => ups.find((u) => u.name === n)!.url;
    const gw = await startGateway({
      expose_server_header: true,
      upstreams: {
        main: { servers: [{ name: 'main', url: url('main') }] },
        sync: { servers: ['sync1', 'sync2', 'sync3'].map((n) => ({ name: n, url: url(n) })), balance: { policy: 'consistent_hash', key: 'token_user' } },
        event: { servers: ['event1', 'event2'].map((n) => ({ name: n, url: url(n) })), balance: { policy: 'consistent_hash', key: 'room_id' } },
      },
      routes: [
        { name: 'sync', match: { paths: ['^/_matrix/client/(r0|v3)/sync$'] }, upstream: 'sync' },
        { name: 'rooms', match: { groups: ['event_sending', 'pagination'] }, upstream: 'event' },
      ],
    });
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${gw.port}`, '--scenario', 'routing', '--duration', '1.5', '--warmup', '0', '--connections', '8', '--json']);
      const r = JSON.parse(stdout) as RoutingResult;
      assert.equal(r.serverHeader, 'x-switchyard-server');
      assert.equal(r.statuses['200'], r.requests, JSON.stringify(r.statuses));
      const hits = Object.fromEntries(ups.map((u) => [u.name, u.hits]));
      assert.deepEqual(r.servers, Object.fromEntries(Object.entries(hits).filter(([, n]) => n > 0)), 'the header agrees with what each upstream served');
      const sync = r.routes.find((x) => x.route === 'sync')!;
      assert.deepEqual(Object.keys(sync.servers).sort(), ['sync1', 'sync2', 'sync3']);
      const pages = r.routes.find((x) => x.route === 'pagination')!;
      assert.deepEqual(Object.keys(pages.servers).sort(), ['event1', 'event2']);
      assert.deepEqual(Object.keys(r.routes.find((x) => x.route === 'unmatched')!.servers), ['main']);
    } finally {
      await gw.close();
    }
  });
});

describe('loadtest messaging scenario under a path prefix', () => {
  it('sends every Matrix call under the target\'s path (a homeserver behind /hs)', async () => {
    // A minimal homeserver mounted at /hs: open registration, rooms, send, /sync; 404 elsewhere.
    const events: { room: string; ev: unknown }[] = [];
    let rooms = 0;
    const json = (res: http.ServerResponse, code: number, body: unknown) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    const srv = await recordingServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => { raw += c; });
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        if (!u.pathname.startsWith('/hs/_matrix/client/v3/')) return json(res, 404, { errcode: 'M_UNRECOGNIZED' });
        const p = u.pathname.slice('/hs/_matrix/client/v3/'.length);
        const body = raw ? JSON.parse(raw) as Record<string, unknown> : {};
        if (p === 'register') return body.auth ? json(res, 200, { user_id: `@${String(body.username)}:x`, access_token: `t_${String(body.username)}` }) : json(res, 401, { session: 's', flows: [] });
        if (p === 'createRoom') return json(res, 200, { room_id: `!r${++rooms}:x` });
        if (p.startsWith('join/')) return json(res, 200, {});
        if (p.includes('/send/')) { events.push({ room: decodeURIComponent(p.split('/')[1]!), ev: { type: 'm.room.message', content: body } }); return json(res, 200, { event_id: `$${events.length}` }); }
        if (p === 'sync') {
          const since = Number(u.searchParams.get('since') ?? events.length);
          return setTimeout(() => {
            const join: Record<string, { timeline: { events: unknown[] } }> = {};
            for (const e of events.slice(since)) (join[e.room] ??= { timeline: { events: [] } }).timeline.events.push(e.ev);
            json(res, 200, { next_batch: String(events.length), rooms: { join } });
          }, since < events.length ? 0 : 50);
        }
        json(res, 404, { errcode: 'M_UNRECOGNIZED' });
      });
    });
    try {
      const { stdout } = await loadtest(['--target', `http://127.0.0.1:${srv.port}/hs/`, '--scenario', 'messaging', '--duration', '1', '--connections', '2', '--senders', '1', '--rooms', '1', '--rate', '10', '--drain', '2', '--json']);
      const r = JSON.parse(stdout) as MessagingResult;
      assert.deepEqual(srv.seen.filter((x) => !x.url.startsWith('/hs/_matrix/')).map((x) => x.url), [], 'no call outside the prefix');
      assert.ok(r.sends.ok >= 8, `${r.sends.ok} sends`);
      assert.equal(r.delivery.delivered, r.sends.ok * 2);
    } finally {
      await srv.close();
    }
  });
});

describe('loadtest targets', () => {
  it('accepts loopback only, without resolving names', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LocalHost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    // *.localhost is resolved by the system resolver (nsswitch `files dns`), so it is not literal loopback.
    for (const h of ['10.0.0.1', '128.0.0.1', 'example.org', '127.0.0.1.nip.io', '::2', '0.0.0.0', 'api.localhost', 'evil.localhost', '::ffff:10.0.0.1']) assert.ok(!isLoopbackHost(h), h);
    assert.throws(() => checkTarget('http://api.localhost:8008', false), (e: unknown) => e instanceof SimulateError && e.code === 'remote_target');
    assert.equal(checkTarget('http://[::ffff:127.0.0.1]:8008', false).hostname, '[::ffff:7f00:1]');
    assert.throws(() => checkTarget('http://192.0.2.1:8008', false), (e: unknown) => e instanceof SimulateError && e.code === 'remote_target');
    assert.equal(checkTarget('http://192.0.2.1:8008', true).hostname, '192.0.2.1');
    assert.throws(() => checkTarget('ftp://127.0.0.1', false), (e: unknown) => e instanceof SimulateError && e.code === 'bad_target');
    assert.throws(() => checkTarget('not a url', false), /not a URL/);
  });

  it('connects to localhost only when every address it resolves to is loopback', async () => {
    const fake = (addresses: { address: string; family: number }[]) => loopbackLookup((_h, _o, cb) => cb(null, addresses));
    const lookup = (l: ReturnType<typeof loopbackLookup>, all: boolean) => new Promise<unknown>((resolve, reject) =>
      l('localhost', { all }, (err, address) => (err ? reject(err) : resolve(address))));
    assert.equal(await lookup(fake([{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]), false), '127.0.0.1');
    assert.deepEqual(await lookup(fake([{ address: '::1', family: 6 }]), true), [{ address: '::1', family: 6 }]);
    await assert.rejects(lookup(fake([{ address: '127.0.0.1', family: 4 }, { address: '192.0.2.7', family: 4 }]), true), /192\.0\.2\.7, not a loopback address/);
    await assert.rejects(lookup(fake([{ address: '203.0.113.1', family: 4 }]), false), (e: { code?: string }) => e.code === 'ENOTLOOPBACK');
    assert.ok(connectOptions(new URL('http://localhost:1'), 2000).lookup, 'localhost goes through the loopback-only lookup');
    // And a real run against localhost works (this machine maps it to 127.0.0.1).
    const srv = await recordingServer();
    try {
      const { stdout } = await loadtest(['--target', `http://localhost:${srv.port}`, '--scenario', 'routing', '--duration', '0.3', '--warmup', '0', '--connections', '1', '--json']);
      assert.ok((JSON.parse(stdout) as RoutingResult).statuses['200']! > 0);
    } finally {
      await srv.close();
    }
  });

  it('refuses a remote target before sending anything (exit 2)', async () => {
    await assert.rejects(loadtest(['--target', 'http://192.0.2.1:8008', '--scenario', 'routing', '--duration', '1']),
      (e: { code: number; stderr: string }) => e.code === 2 && /not a loopback address.*--allow-remote/.test(e.stderr));
    await assert.rejects(loadtest(['--target', 'http://127.0.0.1:1', '--scenario', 'nope']),
      (e: { code: number; stderr: string }) => e.code === 2 && /routing or messaging/.test(e.stderr));
    await assert.rejects(loadtest(['--target', 'http://127.0.0.1:1', '--scenario', 'routing', '--progress', 'bogus']),
      (e: { code: number; stderr: string }) => e.code === 2 && /--progress must be bar, lines or off/.test(e.stderr));
  });
});
