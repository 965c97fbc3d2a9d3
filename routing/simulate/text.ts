/**
 * Plain-text rendering of a simulation report for the terminal: one table per section, numbers
 * right-aligned, so an operator can diff two runs by eye.
 */
import type { Movement, ScenarioReport, SimulationReport } from './summary.ts';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const num = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Renders the whole report. */
export function renderText(r: SimulationReport): string {
  const o = r.options;
  const out = [
    `simulated ${num(o.requests)} requests (${num(o.users)} users, ${num(o.rooms)} rooms, ${num(o.origins)} origins, seed ${o.seed}, Zipf users ${o.zipfUsers} rooms ${o.zipfRooms}) against ${o.routes}`,
    `elapsed ${(r.elapsedMs / 1000).toFixed(2)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s) = ${num(r.requestsPerSecond)} simulated requests/s (${r.scenarios.length === 1 ? 'one table' : 'before and after tables'})`,
  ];
  for (const s of r.scenarios) out.push('', ...scenario(s, r.scenarios.length > 1));
  if (r.movement) out.push('', ...movement(r.movement));
  return out.join('\n');
}

function scenario(s: ScenarioReport, labelled: boolean): string[] {
  const head = labelled ? `== ${s.label} ==` : '== routing ==';
  const lines = [head, `routed ${num(s.routed)}, denied ${num(s.denied)}, no server available ${num(s.unavailable)}`, ''];
  lines.push(table(['upstream / server', 'requests', 'share', 'in pool', 'imbalance', 'sticky keys', 'key imbalance'],
    s.upstreams.flatMap((u) => [
      [u.name, num(u.requests), pct(u.share), '', u.imbalance.toFixed(3), '', u.keyImbalance.toFixed(3)],
      ...u.servers.map((sv) => [`  ${sv.name}${sv.down ? ' (down)' : ''}`, num(sv.requests), pct(sv.share), pct(sv.poolShare), '', num(sv.keys), '']),
    ])));
  lines.push('imbalance = max/mean requests per unit of weight over the servers that can be picked; key imbalance = the same over sticky keys');
  lines.push('', table(['category', 'requests', 'upstreams'],
    s.categories.filter((c) => c.requests > 0).map((c) => [c.category, num(c.requests),
      Object.entries(c.upstreams).sort((a, b) => b[1] - a[1]).map(([u, n]) => `${u} ${pct(n / c.requests)}`).join(', ')])));
  lines.push('', table(['stickiness', 'keys', 'violations', 'examples'],
    s.stickiness.map((k) => [k.kind, num(k.keys), num(k.violations), k.examples.join(' ')])));
  return lines;
}

function movement(m: Movement): string[] {
  const lines = [`== keys moved: ${num(m.moved)} of ${num(m.keys)} sticky keys (${pct(m.fraction)}) ==`];
  lines.push(table(['kind', 'keys', 'moved', 'fraction'],
    m.byKind.filter((k) => k.keys > 0).map((k) => [k.kind, num(k.keys), num(k.moved), pct(k.keys ? k.moved / k.keys : 0)])));
  if (m.matrix.length > 0) lines.push('', table(['from', 'to', 'keys'], m.matrix.map((c) => [c.from, c.to, num(c.keys)])));
  return lines;
}

/** A table whose columns are left-aligned when a cell has letters (names, lists) and right-aligned when numeric. */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => /^[\d.,%]*$/.test(r[i] ?? '')));
  return all.map((r) => r.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}
