/**
 * The HTML report of `gateway simulate` (issue 6, point 2) rendered by a real headless Chromium:
 * the page must draw one bar per server with lengths proportional to the simulation's shares,
 * before/after bars for a membership change, and the stickiness table — from one offline file.
 * Chromium's --dump-dom returns the DOM after the page's inline script ran, including the
 * pixel widths the script read back from the laid-out SVG.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simulateFile } from '../../routing/simulate/index.ts';
import { renderHtml } from '../../routing/simulate/report-html.ts';
import type { SimulationReport } from '../../routing/simulate/summary.ts';

const CHROMIUM = '/usr/bin/chromium';
const BAR_W = 420;
const dir = mkdtempSync(join(tmpdir(), 'report-'));
const run = promisify(execFile);

function chromiumArgs(profile: string): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--window-size=1100,2000'];
}

/** The DOM after scripts ran. A fresh profile per call; removed afterwards. */
async function dumpDom(file: string): Promise<string> {
  const profile = mkdtempSync(join(dir, 'profile-'));
  try {
    const { stdout } = await run(CHROMIUM, [...chromiumArgs(profile), '--dump-dom', `file://${file}`], { maxBuffer: 64 << 20, timeout: 60_000 });
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

type Attrs = Record<string, string>;
function elements(html: string, tag: string): Attrs[] {
  return [...html.matchAll(new RegExp(`<${tag}\\s([^>]*)>`, 'g'))].map((m) =>
    Object.fromEntries([...m[1]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

describe('simulate HTML report in headless Chromium', () => {
  let report: SimulationReport;
  let dom = '';
  let file = '';

  before(async () => {
    report = simulateFile({
      routes: 'config/examples/minimal.routes.yaml', users: 2000, rooms: 400, origins: 30, requests: 50_000, seed: 'report',
      down: [], add: [],
    });
    file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    dom = await dumpDom(file);
  });

  it('needs nothing outside the file', () => {
    const html = readFileSync(file, 'utf8');
    assert.doesNotMatch(html, /<(link|img|iframe)\b/i);
    assert.doesNotMatch(html, /\s(src|href)\s*=/i);
    assert.doesNotMatch(html, /url\(|@import/i);
    assert.match(dom, /data-rendered="ok"/, 'the inline script ran to the end');
  });

  it('draws one bar per server with length proportional to its share of the pool', () => {
    const bars = elements(dom, 'rect').filter((r) => r.class?.startsWith('bar server'));
    const servers = report.scenarios[0]!.upstreams.flatMap((u) => u.servers.map((s) => ({ u: u.name, s })));
    assert.equal(bars.length, servers.length);
    for (const { u, s } of servers) {
      const bar = bars.find((b) => b['data-upstream'] === u && b['data-server'] === s.name);
      assert.ok(bar, `${u}/${s.name} has a bar`);
      assert.equal(Number(bar['data-requests']), s.requests);
      assert.ok(Math.abs(Number(bar.width) - s.poolShare * BAR_W) < 0.01, `${s.name}: width ${bar.width} vs share ${s.poolShare}`);
      // What the browser laid out (CSS px) matches too: the chart is drawn, not only described.
      assert.ok(Math.abs(Number(bar['data-rendered-width']) - s.poolShare * BAR_W) < 0.6, `${s.name}: rendered ${bar['data-rendered-width']}`);
    }
  });

  it('labels bars with the simulation\'s numbers and draws the upstream shares', () => {
    for (const u of report.scenarios[0]!.upstreams) {
      const bar = elements(dom, 'rect').find((r) => r['data-kind'] === 'upstream' && r['data-upstream'] === u.name)!;
      assert.ok(Math.abs(Number(bar.width) - u.share * BAR_W) < 0.01);
      const label = `${u.requests.toLocaleString('en-US')} · ${(u.share * 100).toFixed(2)}%`;
      assert.ok(dom.includes(label), `label ${label}`);
    }
  });

  it('has a stickiness row per kind with the simulation\'s counts', () => {
    const rows = elements(dom, 'tr').filter((r) => r['data-kind']);
    assert.equal(rows.length, 5);
    for (const k of report.scenarios[0]!.stickiness) {
      const row = rows.find((r) => r['data-kind'] === k.kind)!;
      assert.equal(Number(row['data-keys']), k.keys);
      assert.equal(Number(row['data-violations']), k.violations);
    }
  });
});

describe('simulate HTML report with a membership change', () => {
  it('draws before/after bars per server and the keys moved', async () => {
    const report = simulateFile({
      routes: 'config/examples/nginx-docs.routes.yaml', users: 2000, rooms: 400, origins: 30, requests: 50_000, seed: 'cmp',
      down: ['sync3'], add: ['event_creator=event_creator3@http://127.0.0.1:8043'],
    });
    const file = join(dir, 'compare.html');
    writeFileSync(file, renderHtml(report));
    const dom = await dumpDom(file);
    const compare = elements(dom, 'rect').filter((r) => r['data-kind'] === 'compare');
    const expectUpstreams = ['sync', 'event_creator'];
    assert.deepEqual([...new Set(compare.map((r) => r['data-upstream']))].sort(), expectUpstreams.sort());
    for (const name of expectUpstreams) {
      const after = report.scenarios[1]!.upstreams.find((u) => u.name === name)!;
      const before = report.scenarios[0]!.upstreams.find((u) => u.name === name)!;
      const bars = compare.filter((r) => r['data-upstream'] === name);
      assert.equal(bars.length, 2 * after.servers.length, `${name}: two bars per server`);
      for (const s of after.servers) {
        const a = bars.find((b) => b['data-scenario'] === 'after' && b['data-server'] === s.name)!;
        const b = bars.find((x) => x['data-scenario'] === 'before' && x['data-server'] === s.name)!;
        const was = before.servers.find((x) => x.name === s.name);
        assert.equal(Number(a['data-requests']), s.requests);
        assert.equal(Number(b['data-requests']), was?.requests ?? 0);
        assert.ok(Math.abs(Number(a['data-rendered-width']) - s.poolShare * BAR_W) < 0.6);
      }
    }
    const sync3 = compare.find((r) => r['data-scenario'] === 'after' && r['data-server'] === 'sync3')!;
    assert.equal(Number(sync3.width), 0, 'the down server draws an empty bar');
    const moved = elements(dom, 'p').find((p) => p['data-moved'])!;
    assert.equal(Number(moved['data-moved']), report.movement!.moved);
    assert.ok(report.movement!.moved > 0);
    const cells = elements(dom, 'td').filter((t) => t['data-keys']).map((t) => Number(t['data-keys']));
    assert.deepEqual(cells, report.movement!.matrix.map((c) => c.keys));
  });

  it('renders to a screenshot', async () => {
    const file = join(dir, 'report.html');
    const profile = mkdtempSync(join(dir, 'profile-'));
    const png = join(dir, 'shot.png');
    await run(CHROMIUM, [...chromiumArgs(profile), `--screenshot=${png}`, `file://${file}`], { timeout: 60_000 });
    const head = readFileSync(png).subarray(0, 24);
    assert.equal(head.subarray(1, 4).toString(), 'PNG');
    assert.equal(head.readUInt32BE(16), 1100, 'screenshot width');
    assert.ok(statSync(png).size > 20_000, 'a page with charts is not a blank image');
  });
});
