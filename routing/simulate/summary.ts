/**
 * Turns simulation counters into the report every output shares (text, JSON, HTML): shares per
 * upstream and server, imbalance per pool, stickiness per group kind, and — when a membership
 * change was simulated — which keys moved and from where to where.
 */
import type { ScenarioCounts, SimServer, SimulationRun } from './engine.ts';
import { CATEGORIES, type Category, type Mix } from './mix.ts';
import { STICKY_KINDS, type StickyKind, type TrafficModel } from './traffic.ts';

export interface ServerShare {
  readonly name: string;
  readonly requests: number;
  /** Share of all routed requests. */
  readonly share: number;
  /** Share within its upstream. */
  readonly poolShare: number;
  /** Sticky keys (users, rooms, origins) whose requests this server took first. */
  readonly keys: number;
  readonly down: boolean;
  /** The server's weight in its pool (1 unless routes.yaml sets one). */
  readonly weight: number;
}

export interface UpstreamShare {
  readonly name: string;
  readonly requests: number;
  readonly share: number;
  /**
   * Weighted max / mean of requests over the servers that can be picked (not `down`):
   * max(nᵢ / wᵢ) / (Σn / Σw), so a 3:1 weighted pool split 75/25 is 1; 1 is perfect.
   */
  readonly imbalance: number;
  /**
   * The same ratio over sticky keys (1 when the pool has no sticky keys). Hashing
   * balances keys, not requests: with Zipf activity a pool can be fair by keys and still carry
   * uneven load, which this separates from an unfair hash.
   */
  readonly keyImbalance: number;
  readonly servers: readonly ServerShare[];
}

export interface Stickiness {
  readonly kind: StickyKind;
  /** Keys (users, rooms, origins) that sent at least one request of this kind. */
  readonly keys: number;
  /** Keys whose requests reached more than one server. */
  readonly violations: number;
  /** A few violating keys, for the operator to look up with `gateway explain`. */
  readonly examples: readonly string[];
}

export interface ScenarioReport {
  readonly label: string;
  readonly routed: number;
  readonly denied: number;
  /** Requests whose upstream had no available server (the gateway answers 503). */
  readonly unavailable: number;
  readonly upstreams: readonly UpstreamShare[];
  readonly categories: readonly { category: Category; requests: number; upstreams: Record<string, number> }[];
  readonly stickiness: readonly Stickiness[];
}

export interface Movement {
  /** Sticky keys seen before and after that stayed sticky in both runs. */
  readonly keys: number;
  readonly moved: number;
  readonly fraction: number;
  readonly byKind: readonly { kind: StickyKind; keys: number; moved: number }[];
  /** from → to, in keys, `upstream/server` names; only cells with moved keys. */
  readonly matrix: readonly { from: string; to: string; keys: number }[];
}

export interface SimulationReport {
  readonly generator: 'switchyard simulate';
  readonly options: {
    routes: string; users: number; rooms: number; origins: number; requests: number;
    seed: string; mix: Mix; down: readonly string[]; add: readonly string[]; zipfUsers: number; zipfRooms: number;
  };
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly requestsPerSecond: number;
  readonly scenarios: readonly ScenarioReport[];
  readonly movement: Movement | null;
}

/** Builds the report of one run; `options` is echoed so a report says how it was made. */
export function summarise(run: SimulationRun, model: TrafficModel, options: SimulationReport['options']): SimulationReport {
  const scenarios = run.scenarios.map((s) => scenarioReport(s, model));
  const before = run.scenarios[0];
  const after = run.scenarios[1];
  return {
    generator: 'switchyard simulate',
    options,
    elapsedMs: Math.round(run.elapsedMs),
    cpuMs: Math.round(run.cpuMs),
    requestsPerSecond: Math.round(run.requests / (run.elapsedMs / 1000)),
    scenarios,
    movement: before && after ? movement(before, after, model) : null,
  };
}

function scenarioReport(c: ScenarioCounts, model: TrafficModel): ScenarioReport {
  const unavailable = c.serverRequests[c.servers.length]!;
  let routed = 0;
  for (let i = 0; i < c.servers.length; i++) routed += c.serverRequests[i]!;
  return {
    label: c.label, routed, denied: c.denied, unavailable,
    upstreams: c.upstreams.map((u) => upstreamShare(c, u, routed, keysPerServer(c))),
    categories: CATEGORIES.map((category, ci) => {
      const upstreams: Record<string, number> = {};
      let requests = 0;
      c.upstreams.forEach((u, ui) => {
        const n = c.categoryUpstream[ci * c.upstreams.length + ui]!;
        if (n > 0) upstreams[u] = n;
        requests += n;
      });
      return { category, requests, upstreams };
    }),
    stickiness: stickiness(c, model),
  };
}

function keysPerServer(c: ScenarioCounts): Int32Array {
  const keys = new Int32Array(c.servers.length);
  for (let g = 0; g < c.groupServer.length; g++) {
    const s = c.groupServer[g]!;
    if (s >= 0) keys[s]!++;
  }
  return keys;
}

/**
 * Weighted max / mean: max(nᵢ / wᵢ) / (Σn / Σw) over `values` (1 when nothing was counted). With
 * equal weights this is plain max / mean; with weights, a split in proportion to them is 1.
 */
function maxOverMean(values: readonly { n: number; w: number }[]): number {
  const total = values.reduce((a, x) => a + x.n, 0), weights = values.reduce((a, x) => a + x.w, 0);
  const mean = weights > 0 ? total / weights : 0;
  return mean > 0 ? Math.max(...values.map((x) => x.n / x.w)) / mean : 1;
}

function weightOf(s: SimServer): number {
  return s.weight ?? 1;
}

function upstreamShare(c: ScenarioCounts, name: string, routed: number, keys: Int32Array): UpstreamShare {
  const servers = c.servers.flatMap((s, i) => (s.upstream === name ? [{ s, n: c.serverRequests[i]!, k: keys[i]! }] : []));
  const requests = servers.reduce((sum, x) => sum + x.n, 0);
  // Down servers are left out of both the max and the mean; a weight of 0 cannot take traffic either.
  const eligible = servers.filter((x) => !x.s.down && weightOf(x.s) > 0);
  return {
    name, requests,
    share: routed > 0 ? requests / routed : 0,
    imbalance: maxOverMean(eligible.map((x) => ({ n: x.n, w: weightOf(x.s) }))),
    keyImbalance: maxOverMean(eligible.map((x) => ({ n: x.k, w: weightOf(x.s) }))),
    servers: servers.map(({ s, n, k }) => ({
      name: s.name, requests: n, down: s.down, keys: k, weight: weightOf(s),
      share: routed > 0 ? n / routed : 0,
      poolShare: requests > 0 ? n / requests : 0,
    })),
  };
}

function stickiness(c: ScenarioCounts, model: TrafficModel): Stickiness[] {
  const acc = new Map<StickyKind, { keys: number; violations: number; examples: string[] }>(
    STICKY_KINDS.map((k) => [k, { keys: 0, violations: 0, examples: [] }]));
  for (let g = 0; g < c.groupServer.length; g++) {
    if (c.groupServer[g] === -1) continue;
    const { kind, key } = model.group(g);
    const a = acc.get(kind)!;
    a.keys++;
    if (c.groupViolated[g]) {
      a.violations++;
      if (a.examples.length < 5) a.examples.push(key);
    }
  }
  return STICKY_KINDS.map((kind) => ({ kind, ...acc.get(kind)! }));
}

function serverLabel(c: ScenarioCounts, index: number): string {
  const s = c.servers[index];
  return s ? `${s.upstream}/${s.name}` : '(no server)';
}

/** Compares each sticky key's server before and after; keys that were not sticky in either run are left out. */
function movement(before: ScenarioCounts, after: ScenarioCounts, model: TrafficModel): Movement {
  const byKind = new Map<StickyKind, { keys: number; moved: number }>(STICKY_KINDS.map((k) => [k, { keys: 0, moved: 0 }]));
  const cells = new Map<string, { from: string; to: string; keys: number }>();
  let keys = 0, moved = 0;
  for (let g = 0; g < before.groupServer.length; g++) {
    const a = before.groupServer[g]!, b = after.groupServer[g]!;
    if (a === -1 || b === -1 || before.groupViolated[g] || after.groupViolated[g]) continue;
    const k = byKind.get(model.group(g).kind)!;
    const from = serverLabel(before, a), to = serverLabel(after, b);
    keys++; k.keys++;
    if (from === to) continue;
    moved++; k.moved++;
    const id = `${from}\u0000${to}`;
    const cell = cells.get(id) ?? { from, to, keys: 0 };
    cell.keys++;
    cells.set(id, cell);
  }
  return {
    keys, moved, fraction: keys > 0 ? moved / keys : 0,
    byKind: STICKY_KINDS.map((kind) => ({ kind, ...byKind.get(kind)! })),
    matrix: [...cells.values()].sort((x, y) => y.keys - x.keys || x.from.localeCompare(y.from) || x.to.localeCompare(y.to)),
  };
}
