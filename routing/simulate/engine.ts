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
}

/** Sends `requests` requests of `model` through every table and returns the counters. */
export function runSimulation(model: TrafficModel, tables: readonly { label: string; table: SimTable }[], requests: number): SimulationRun {
  const lanes = tables.map((t) => makeLane(t.label, t.table, model.groupCount));
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const g = model.next();
    const cat = CATEGORY_INDEX[g.category];
    for (let l = 0; l < lanes.length; l++) record(lanes[l]!, g.req, cat, g.sticky);
  }
  const used = process.cpuUsage(cpu);
  return { requests, elapsedMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000, scenarios: lanes.map((l) => l.counts) };
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
  return {
    table, counts,
    serverIndex: new Map(servers.map((s, i) => [s, i])),
    upstreamIndex: new Map(upstreams.map((u, i) => [u, i])),
  };
}

function record(lane: Lane, req: RouteRequest, cat: number, sticky: number): void {
  const d = lane.table.decide(req, 'public');
  const c = lane.counts;
  if (d.denied !== undefined) {
    c.denied++;
    return;
  }
  const u = lane.upstreamIndex.get(d.upstream);
  if (u !== undefined) c.categoryUpstream[cat * c.upstreams.length + u]!++;
  const s = d.server === null ? -2 : lane.serverIndex.get(d.server) ?? -2;
  c.serverRequests[s < 0 ? c.servers.length : s]!++;
  if (sticky < 0) return;
  const first = c.groupServer[sticky]!;
  if (first === -1) c.groupServer[sticky] = s;
  else if (first !== s) c.groupViolated[sticky] = 1;
}
