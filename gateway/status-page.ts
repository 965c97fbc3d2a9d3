/**
 * `/status.html` (issue 3, point 8): one self-contained page (no external assets, so it works on
 * an isolated admin network) that fetches `/status` every two seconds and renders each upstream
 * pool with its servers, their health, in-flight requests, open connections and request rates
 * (computed from the difference between two polls). Under `--workers N` /status is already the
 * sum over every worker, so rates do not jump between processes; a worker restart that lowers a
 * count shows no rate for that poll.
 */
export const STATUS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard gateway status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;min-width:40em}th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#176b1d;font-weight:600}.down{color:#b00020;font-weight:600}.admin{color:#7a5b00;font-weight:600}
#meta{color:#555}
</style></head>
<body><h1>Switchyard gateway</h1><div id="meta">loading…</div><div id="pools"></div>
<script>
"use strict";
let previous = null;
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function health(s) {
  if (s.down) return ['admin', 'down (config)'];
  if (s.available) return ['up', 'healthy'];
  return ['down', s.ejected_until ? 'ejected' : 'unhealthy'];
}
function rate(s, pool, now) {
  if (!previous) return '–';
  const old = previous.doc.upstreams.find((u) => u.name === pool)?.servers.find((x) => x.name === s.name);
  if (!old) return '–';
  const secs = (now - previous.at) / 1000;
  const diff = s.requests - old.requests;
  return secs > 0 && diff >= 0 ? (diff / secs).toFixed(1) : '–';
}
function render(doc) {
  const now = Date.now();
  const procs = doc.workers ? doc.workers.length + ' workers (pids ' + doc.workers.map((w) => w.pid).join(', ') + ')' : 'pid ' + doc.pid;
  document.getElementById('meta').textContent = procs + ' · up ' + doc.uptime_s + ' s · ' + doc.in_flight + ' in flight · '
    + doc.requests_total + ' requests · ' + doc.routes + ' routes · reloads ok ' + doc.reloads.ok + ', rejected ' + doc.reloads.rejected
    + (doc.draining ? ' · DRAINING' : '');
  const pools = document.getElementById('pools');
  pools.replaceChildren();
  for (const u of doc.upstreams) {
    pools.append(el('h2', { 'data-upstream': u.name }, u.name + ' (' + u.policy + ')'));
    const t = el('table');
    const head = el('tr');
    for (const h of ['server', 'url', 'health', 'in flight', 'req/s', 'requests', 'connections', 'last check']) head.append(el('th', {}, h));
    t.append(head);
    for (const s of u.servers) {
      const [cls, label] = health(s);
      const tr = el('tr', { 'data-server': s.name, 'data-health': label });
      tr.append(el('td', {}, s.name), el('td', {}, s.url), el('td', { class: cls }, label), el('td', { class: 'num' }, s.inflight),
        el('td', { class: 'num' }, rate(s, u.name, now)), el('td', { class: 'num' }, s.requests),
        el('td', { class: 'num' }, s.connections.open + ' open / ' + s.connections.idle + ' idle'),
        el('td', {}, s.last_check ? (s.last_check.ok ? 'ok' : 'failed') + ' (' + s.last_check.detail + ')' : '–'));
      t.append(tr);
    }
    pools.append(t);
  }
  previous = { at: now, doc };
}
async function poll() {
  try {
    const r = await fetch('status', { cache: 'no-store' });
    render(await r.json());
  } catch (e) {
    document.getElementById('meta').textContent = 'cannot reach /status: ' + e;
  }
}
poll();
setInterval(poll, 2000);
</script></body></html>
`;
