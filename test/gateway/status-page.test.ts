/**
 * The admin listener's status page (issue 3, point 8), rendered by Debian's headless Chromium:
 * the DOM it builds from /status shows every pool and server with its health. Also checks the
 * /status JSON and the Prometheus metric families.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startUpstream, startGateway, request, type Upstream, type TestGateway } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
let up1: Upstream;
let up2: Upstream;
let main: Upstream;
let gw: TestGateway;

before(async () => {
  up1 = await startUpstream('sync1');
  up2 = await startUpstream('sync2');
  main = await startUpstream('main');
  const hc = { interval: 100, timeout: 2000, rise: 1, fall: 1 }; // refused connects fail at once
  gw = await startGateway({
    upstreams: {
      main: { servers: [{ name: 'main', url: main.url }], health_check: hc },
      sync: { servers: [{ name: 'sync1', url: up1.url }, { name: 'sync2', url: up2.url }], health_check: hc },
    },
    routes: [{ name: 'sync', match: { paths: ['^/_matrix/client/v3/sync$'] }, upstream: 'sync' }],
  });
  await up2.close(); // sync2 is down: the page must say so
  for (let i = 0; i < 50; i++) {
    const s = JSON.parse((await request(gw.adminPort, '/status')).body) as { upstreams: { servers: { name: string; available: boolean }[] }[] };
    if (s.upstreams.some((u) => u.servers.some((x) => x.name === 'sync2' && !x.available))) break;
    await sleep(50);
  }
  for (let i = 0; i < 5; i++) await request(gw.port, '/_matrix/client/v3/sync?since=1');
});

after(async () => {
  await gw.close();
  await up1.close();
  await main.close();
});

function dumpDom(url: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=3000', '--dump-dom', url];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: 40_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

test('/status.html rendered in headless Chromium shows pools, servers and their health', async () => {
  const dom = await dumpDom(`http://127.0.0.1:${gw.adminPort}/status.html`);
  assert.match(dom, /<h2 data-upstream="sync">sync \(round_robin\)<\/h2>/);
  assert.match(dom, /<h2 data-upstream="main">/);
  assert.match(dom, /<tr data-server="sync1" data-health="healthy">/);
  assert.match(dom, /<tr data-server="sync2" data-health="unhealthy">/);
  assert.match(dom, /<tr data-server="main" data-health="healthy">/);
  assert.match(dom, /reloads ok 0, rejected 0/);
});

test('/status JSON and /metrics expose servers, health, requests and in-flight counts', async () => {
  const s = JSON.parse((await request(gw.adminPort, '/status')).body) as { upstreams: { name: string; servers: { name: string; requests: number; available: boolean }[] }[] };
  const sync = s.upstreams.find((u) => u.name === 'sync')!;
  assert.equal(sync.servers.find((x) => x.name === 'sync1')!.requests, 5);
  const m = (await request(gw.adminPort, '/metrics')).body;
  for (const family of ['gateway_requests_total', 'gateway_request_duration_seconds', 'gateway_requests_in_flight', 'gateway_retries_total',
    'gateway_upstream_ejections_total', 'gateway_upstream_server_available', 'gateway_reloads_total', 'gateway_routing_drift_total', 'gateway_upstream_server_in_flight']) {
    assert.match(m, new RegExp(`# TYPE ${family} `), family);
  }
  assert.match(m, /gateway_requests_total\{route="sync",upstream="sync",server="sync1",status="200"\} 5/);
  assert.match(m, /gateway_upstream_server_available\{upstream="sync",server="sync2"\} 0/);
  assert.match(m, /gateway_request_duration_seconds_count\{route="sync"\} 5/);
});
