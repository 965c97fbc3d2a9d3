/**
 * Text rendering of load-test results: per-route latency table, statuses, servers (routing);
 * sends, delivery latency, lost and duplicated (messaging).
 */
import type { MessagingResult } from './messaging.ts';
import type { RoutingResult } from './routing.ts';
import type { LatencySummary } from './stats.ts';

const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
const counts = (c: Record<string, number>): string =>
  Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ') || '-';

function latencyRow(label: string, n: number, l: LatencySummary, extra: string): string {
  return [label.padEnd(16), String(n).padStart(9), ms(l.p50).padStart(8), ms(l.p90).padStart(8), ms(l.p99).padStart(8), ms(l.max).padStart(8), `  ${extra}`].join('');
}

/** The routing scenario's summary. */
export function renderRouting(r: RoutingResult): string {
  const lines = [
    ...r.warnings.map((w) => `WARNING: ${w}`),
    `routing load test of ${r.target}: ${r.requests} requests sent in ${r.durationS.toFixed(1)} s, ${r.completed} completed = ${r.requestsPerSecond} req/s over ${r.connections} connections${r.rate ? ` (offered ${r.rate}/s)` : ' (closed loop)'}${r.warmupS ? `, after ${r.warmupS} s warm-up` : ''}${r.aborted ? `; ${r.aborted} unanswered, aborted at the deadline` : ''}`,
    `statuses: ${counts(r.statuses)}${Object.keys(r.errors).length ? `; errors: ${counts(r.errors)}` : ''}`,
    '',
    `${'route'.padEnd(16)}${'requests'.padStart(9)}${'p50 ms'.padStart(8)}${'p90 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max ms'.padStart(8)}  statuses`,
    ...r.routes.map((x) => latencyRow(x.route, x.requests, x.latencyMs, counts(x.statuses))),
    latencyRow('all', r.latencyMs.count, r.latencyMs, r.notSent ? `incl. ${r.notSent} due but never sent (not_sent)` : ''),
  ];
  if (r.serverHeader) {
    lines.push('', `servers (from ${r.serverHeader}):`);
    const total = Object.values(r.servers).reduce((s, x) => s + x, 0);
    for (const [name, n] of Object.entries(r.servers).sort((a, b) => a[0].localeCompare(b[0]))) {
      lines.push(`  ${name.padEnd(24)}${String(n).padStart(9)}  ${((n / total) * 100).toFixed(2).padStart(6)}%`);
    }
    lines.push('', 'route → servers:', ...r.routes.map((x) => `  ${x.route.padEnd(16)}${counts(x.servers)}`));
  } else {
    lines.push('', 'servers: the target named none (set `expose_server_header: true` in routes.yaml to see the distribution)');
  }
  return lines.join('\n');
}

/** The messaging scenario's summary. */
export function renderMessaging(r: MessagingResult): string {
  const s = r.sends, d = r.delivery;
  const lat = (l: LatencySummary): string => `p50 ${ms(l.p50)} ms, p95 ${ms(l.p95)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms`;
  return [
    ...r.warnings.map((w) => `WARNING: ${w}`),
    `messaging load test of ${r.target}: ${r.clients} syncing clients, ${r.senders} senders, ${r.rooms} rooms, registration ${r.registration}, setup ${r.setupS.toFixed(1)} s`,
    `sends: ${s.ok} ok / ${s.attempted} attempted in ${r.durationS.toFixed(1)} s = ${s.perSecond} sends/s${r.rate ? ` (offered ${r.rate}/s)` : ''}${s.aborted ? `, ${s.aborted} aborted at the deadline` : ''}${s.notSent ? `, ${s.notSent} due but never sent` : ''}; send latency ${lat(s.latencyMs)}`,
    `delivery (send → /sync): ${d.delivered} of ${d.expected} expected; lost ${d.lost}, duplicated ${d.duplicated}; latency ${lat(d.latencyMs)}`,
    Object.keys(r.errors).length ? `errors: ${counts(r.errors)}` : 'errors: none',
  ].join('\n');
}
