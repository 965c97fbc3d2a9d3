/**
 * The `--report out.html` file (issue 6, point 2): ONE self-contained page that works offline.
 * Tables (stickiness, categories, keys moved) are rendered here as HTML; the bar charts are drawn
 * in the browser by the inlined report-client.js from the report JSON embedded in the page, so
 * the page carries its data and needs no URL outside itself.
 */
import { readFileSync } from 'node:fs';
import type { Movement, ScenarioReport, SimulationReport } from './summary.ts';

const CLIENT_JS = readFileSync(new URL('./report-client.js', import.meta.url), 'utf8');

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const num = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Renders the report page. */
export function renderHtml(r: SimulationReport): string {
  const o = r.options;
  const changes = [...o.down.map((d) => `--down ${d}`), ...o.add.map((a) => `--add ${a}`)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard routing simulation — ${escapeHtml(o.routes)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Routing simulation</h1>
<p><code>${escapeHtml(o.routes)}</code> · ${num(o.requests)} requests · ${num(o.users)} users · ${num(o.rooms)} rooms ·
${num(o.origins)} remote servers · Zipf ${o.zipfUsers} (users) / ${o.zipfRooms} (rooms) · seed <code>${escapeHtml(o.seed)}</code>${changes.length ? ` · change: <code>${escapeHtml(changes.join(' '))}</code>` : ''}</p>
<p class="muted">Simulated in ${(r.elapsedMs / 1000).toFixed(2)} s, CPU ${(r.cpuMs / 1000).toFixed(2)} s (${num(r.requestsPerSecond)} simulated requests/s). Mix: ${
  Object.entries(o.mix).filter(([, v]) => v > 0).map(([k, v]) => `${escapeHtml(k)} ${pct(v)}`).join(', ')}.</p>
<noscript><p class="warn">The charts are drawn by the page's own inline script; enable JavaScript to see them. The tables below need none.</p></noscript>
</header>
${r.movement ? movementSection(r.movement) : ''}
<div id="charts"></div>
${r.scenarios.map((s) => scenarioTables(s, r.scenarios.length > 1)).join('\n')}
<script type="application/json" id="report-data">${scriptJson(r)}</script>
<script>${CLIENT_JS}</script>
</body></html>
`;
}

function movementSection(m: Movement): string {
  const kinds = m.byKind.filter((k) => k.keys > 0).map((k) =>
    `<tr><td>${k.kind}</td><td class="n">${num(k.keys)}</td><td class="n">${num(k.moved)}</td><td class="n">${pct(k.keys ? k.moved / k.keys : 0)}</td></tr>`).join('');
  const cells = m.matrix.map((c) =>
    `<tr><td>${escapeHtml(c.from)}</td><td>${escapeHtml(c.to)}</td><td class="n" data-keys="${c.keys}">${num(c.keys)}</td></tr>`).join('');
  return `<section id="movement"><h2>Membership change</h2>
<p class="big" data-moved="${m.moved}" data-keys="${m.keys}" data-fraction="${m.fraction}">${num(m.moved)} of ${num(m.keys)} sticky keys moved (${pct(m.fraction)})</p>
<table class="data"><thead><tr><th>key kind</th><th>keys</th><th>moved</th><th>fraction</th></tr></thead><tbody>${kinds}</tbody></table>
<h3>From → to (keys)</h3>
<table class="data" id="move-matrix"><thead><tr><th>from</th><th>to</th><th>keys</th></tr></thead><tbody>${cells || '<tr><td colspan="3">no key moved</td></tr>'}</tbody></table>
<div id="comparison-charts"></div></section>`;
}

function scenarioTables(s: ScenarioReport, labelled: boolean): string {
  const title = labelled ? ` (${escapeHtml(s.label)})` : '';
  const sticky = s.stickiness.map((k) =>
    `<tr class="${k.violations > 0 ? 'bad' : 'good'}" data-kind="${k.kind}" data-keys="${k.keys}" data-violations="${k.violations}"><td>${k.kind}</td><td class="n">${num(k.keys)}</td><td class="n">${num(k.violations)}</td><td>${k.violations === 0 ? (k.keys > 0 ? 'sticky ✓' : 'no traffic') : escapeHtml(k.examples.join(' '))}</td></tr>`).join('');
  const cats = s.categories.filter((c) => c.requests > 0).map((c) =>
    `<tr><td>${c.category}</td><td class="n">${num(c.requests)}</td><td>${Object.entries(c.upstreams).sort((a, b) => b[1] - a[1])
      .map(([u, n]) => `${escapeHtml(u)} ${pct(n / c.requests)}`).join(', ')}</td></tr>`).join('');
  return `<section class="tables" data-scenario="${escapeHtml(s.label)}">
<h2>Stickiness${title}</h2>
<p class="muted">A key is sticky when all its requests of that kind reached one server: each user's syncs, each room's sends and pagination, each remote server's transactions.</p>
<table class="data stickiness" data-scenario="${escapeHtml(s.label)}"><thead><tr><th>kind</th><th>keys</th><th>violations</th><th>examples</th></tr></thead><tbody>${sticky}</tbody></table>
<h2>Categories${title}</h2>
<p class="muted">Routed ${num(s.routed)}, denied ${num(s.denied)}, no server available ${num(s.unavailable)}.</p>
<table class="data"><thead><tr><th>category</th><th>requests</th><th>upstreams</th></tr></thead><tbody>${cats}</tbody></table>
</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#1d2330;background:#fff}
h1{margin:0 0 .3rem}h2{margin:1.6rem 0 .5rem;border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
code{background:#f1f3f7;padding:0 .25rem;border-radius:3px}.muted{color:#5b6475}.warn{color:#9a3b00}
.big{font-size:1.25rem;font-weight:600}
table.data{border-collapse:collapse;margin:.4rem 0 1rem}table.data th,table.data td{border:1px solid #d8dde6;padding:.2rem .6rem;text-align:left}
table.data td.n{text-align:right;font-variant-numeric:tabular-nums}tr.bad td{background:#fdecea}tr.good td:last-child{color:#1b7f3b}
figure{margin:.6rem 0 1rem}figcaption{font-weight:600;margin-bottom:.2rem}
svg.chart text{font:12px system-ui,sans-serif;fill:#1d2330}svg.chart text.value{fill:#5b6475}
rect.upstream{fill:#6c5ce7}rect.server{fill:#0b7bd6}rect.before{fill:#8aa4c8}rect.after{fill:#e07b24}rect.down{fill:#c3c8d1}
`;
