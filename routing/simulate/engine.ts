/**
 * Drives compiled routing tables with a traffic model and counts where requests land (issue 6,
 * point 1). Several tables (before and after a membership change) see the very same request
 * stream in one pass, so a key's server before and after can be compared directly.
 * The hot loop does no allocation of its own: counters are typed arrays indexed by small ints.
 */
import type { RouteRequest } from '../types.ts';
import { CATEGORIES, type Category } from './mix.ts';
import type { TrafficModel } from './traffic.ts';

/** What the simulation needs of a server: RoutingTable's ServerState satisfies it. */
export interface SimServer {
  readonly upstream: string;
  readonly name: string;
  readonly down: boolean;
  /** Relative weight in its pool (default 1): imbalance is measured against it. */
  readonly weight?: number;
}

/** What the simulation needs of a compiled table (routing/table.ts RoutingTable satisfies it). */
export interface SimTable {
  decide(req: RouteRequest, listener?: 'public' | 'admin'): { readonly upstream: string; readonly server: SimServer | null; readonly denied?: string };
  readonly upstreams: ReadonlyMap<string, { readonly servers: readonly SimServer[] }>;
}

/** Raw counters of one table over one run. */
export interface ScenarioCounts {
  readonly label: string;
  readonly servers: readonly SimServer[];
  readonly upstreams: readonly string[];
  /** Requests per server index; the extra last slot counts requests that found no server. */
  readonly serverRequests: Float64Array;
  /** Requests per category × upstream index (row-major, CATEGORIES order). */
  readonly categoryUpstream: Float64Array;
  denied: number;
  /** Per stickiness group: first server index seen (-1 never seen, -2 no server available). */
  readonly groupServer: Int32Array;
  /** Per stickiness group: 1 once a second, different server was seen. */
  readonly groupViolated: Uint8Array;
}

/** A run over all tables. */
export interface SimulationRun {
  readonly requests: number;
  readonly elapsedMs: number;
  /** CPU time of this process over the run (user + system): steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  readonly scenarios: readonly ScenarioCounts[];
}

interface Lane {
  table: SimTable;
  counts: ScenarioCounts;
  serverIndex: Map<SimServer, number>;
  upstreamIndex: Map<string, number>;
  /** Upstream index of each server (counts.servers order). */
  serverUpstream: Int32Array;
  /**
   * For a lane compared with lane 0: lane 0's server index → this lane's, for servers of upstreams
   * the change leaves alone (-1 for changed ones). Routes never depend on membership, so a request
   * lane 0 sent to an unchanged upstream lands on the same server here: copying the decision is
   * exact and halves the cost of a before/after run.
   */
  reuse: Int32Array | null;
}

/** A table to drive; `changed` names the upstreams whose membership differs from the first table's. */
export interface LaneSpec {
  readonly label: string;
  readonly table: SimTable;
  readonly changed?: ReadonlySet<string>;
}

/** Sends `requests` requests of `model` through every table and returns the counters. */
export function runSimulation(model: TrafficModel, tables: readonly LaneSpec[], requests: number): SimulationRun {
  const lanes = tables.map((t) => makeLane(t.label, t.table, model.groupCount));
  tables.forEach((t, i) => { if (i > 0 && t.changed) lanes[i]!.reuse = reuseMap(lanes[0]!, lanes[i]!, t.changed); });
  const first = lanes[0]!;
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const g = model.next();
    const cat = CATEGORY_INDEX[g.category];
    const s0 = record(first, g.req, cat, g.sticky);
    for (let l = 1; l < lanes.length; l++) {
      const lane = lanes[l]!;
      const s = s0 >= 0 && lane.reuse !== null ? lane.reuse[s0]! : -1;
      if (s >= 0) count(lane.counts, s, lane.serverUpstream[s]!, cat, g.sticky);
      else record(lane, g.req, cat, g.sticky);
    }
  }
  const used = process.cpuUsage(cpu);
  return { requests, elapsedMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000, scenarios: lanes.map((l) => l.counts) };
}

function reuseMap(base: Lane, lane: Lane, changed: ReadonlySet<string>): Int32Array {
  const byName = new Map(lane.counts.servers.map((s, i) => [`${s.upstream}\u0000${s.name}`, i]));
  return Int32Array.from(base.counts.servers, (s) => (changed.has(s.upstream) ? -1 : byName.get(`${s.upstream}\u0000${s.name}`) ?? -1));
}

const CATEGORY_INDEX = Object.fromEntries(CATEGORIES.map((c, i) => [c, i])) as Record<Category, number>;

function makeLane(label: string, table: SimTable, groups: number): Lane {
  const servers: SimServer[] = [];
  const upstreams: string[] = [];
  for (const [name, u] of table.upstreams) {
    upstreams.push(name);
    servers.push(...u.servers);
  }
  const groupServer = new Int32Array(groups).fill(-1);
  const counts: ScenarioCounts = {
    label, servers, upstreams, denied: 0, groupServer,
    serverRequests: new Float64Array(servers.length + 1),
    categoryUpstream: new Float64Array(CATEGORIES.length * upstreams.length),
    groupViolated: new Uint8Array(groups),
  };
  const upstreamIndex = new Map(upstreams.map((u, i) => [u, i]));
  return {
    table, counts, upstreamIndex, reuse: null,
    serverIndex: new Map(servers.map((s, i) => [s, i])),
    serverUpstream: Int32Array.from(servers, (s) => upstreamIndex.get(s.upstream)!),
  };
}

/** Decides one request in `lane` and counts it; returns the server index (-2 none, -3 denied). */
function record(lane: Lane, req: RouteRequest, cat: number, sticky: number): number {
  const d = lane.table.decide(req, 'public');
  if (d.denied !== undefined) {
    lane.counts.denied++;
    return -3;
  }
  const s = d.server === null ? -2 : lane.serverIndex.get(d.server) ?? -2;
  count(lane.counts, s, lane.upstreamIndex.get(d.upstream) ?? -1, cat, sticky);
  return s;
}

function count(c: ScenarioCounts, s: number, u: number, cat: number, sticky: number): void {
  if (u >= 0) c.categoryUpstream[cat * c.upstreams.length + u]!++;
  c.serverRequests[s < 0 ? c.servers.length : s]!++;
  if (sticky < 0) return;
  const first = c.groupServer[sticky]!;
  if (first === -1) c.groupServer[sticky] = s;
  else if (first !== s) c.groupViolated[sticky] = 1;
}
