/**
 * The gateway's own endpoints on the admin listener (issue 3, point 8): `/metrics` (Prometheus
 * text), `/status` (JSON: pools, servers, health, request counts, reloads) and `/status.html` (a
 * self-contained page rendering /status). Every other path on the admin listener is proxied like
 * a public request, with the admin listener's rules (routing/security.ts). Under `--workers N`
 * both /metrics and /status cover every worker (gateway/cluster-metrics.ts), whichever answers.
 */
import type { ClientRequest, ClientResponse } from './client-message.ts';
import type { ServerState } from '../routing/types.ts';
import type { Gateway } from './server.ts';
import { STATUS_HTML } from './status-page.ts';
import { clusterMetricsText, clusterStatus, inCluster } from './cluster-metrics.ts';
import { serverIdentity } from '../routing/table.ts';

/** One server as /status shows it. */
export interface ServerStatus {
  name: string;
  url: string;
  weight: number;
  down: boolean;
  available: boolean;
  inflight: number;
  requests: number;
  ejected_until: number | null;
  last_check: { at: number; ok: boolean; detail: string } | null;
  connections: { open: number; idle: number };
}

/** One worker process in a cluster-wide /status. */
export interface WorkerStatus {
  pid: number;
  uptime_s: number;
  rss_bytes: number;
  in_flight: number;
  requests_total: number;
  draining: boolean;
  reloads: Gateway['reloads'];
}

/**
 * The /status document. Under `--workers N` the counts, in-flight numbers, connections and memory
 * are sums over `workers`, a server is available only when every worker sees it so, and `pid`,
 * `memory`, routes and policies are those of the worker that answered. Reloads are counted once
 * per cluster reload (see mergeStatus); each worker's own counts and last result are in `workers`.
 */
export interface StatusDocument {
  /** The process that answered. */
  pid: number;
  /** Every worker (only under `--workers N`). */
  workers?: WorkerStatus[];
  uptime_s: number;
  rss_bytes: number;
  memory: NodeJS.MemoryUsage;
  in_flight: number;
  requests_total: number;
  draining: boolean;
  /** `disagree` (only under `--workers N`): the workers' latest reloads did not all end alike. */
  reloads: Gateway['reloads'] & { disagree?: boolean };
  routes: number;
  default_upstream: string;
  upstreams: { name: string; policy: string; servers: ServerStatus[] }[];
}

function serverStatus(gw: Gateway, s: ServerState): ServerStatus {
  const pool = gw.poolOf(s);
  const ejected = gw.health.ejectedUntil(s);
  return {
    name: s.name, url: s.url, weight: s.weight, down: s.down, available: s.available && !s.down, inflight: s.inflight,
    requests: gw.metrics.serverRequests(s), ejected_until: ejected === 0 ? null : ejected, last_check: gw.health.lastCheck(s),
    connections: { open: pool?.open ?? 0, idle: pool?.idleCount ?? 0 },
  };
}

/** Builds the /status document. */
export function statusDocument(gw: Gateway): StatusDocument {
  const table = gw.generation.table;
  return {
    pid: process.pid, uptime_s: Math.round((Date.now() - gw.startedAt) / 1000), rss_bytes: process.memoryUsage.rss(), memory: process.memoryUsage(),
    in_flight: gw.active, requests_total: gw.metrics.total, draining: gw.draining, reloads: gw.reloads,
    routes: table.routes.length, default_upstream: table.defaultUpstream.name,
    upstreams: [...table.upstreams.values()].map((u) => ({ name: u.name, policy: u.config.balance.policy, servers: u.servers.map((s) => serverStatus(gw, s)) })),
  };
}

/** Latest of two timestamped values (null-safe). */
function latest<T extends { at: number }>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.at > a.at ? b : a;
}

/** Folds every worker's document into one; `own` (the answering worker's) gives the shape. */
export function mergeStatus(own: StatusDocument, docs: readonly StatusDocument[]): StatusDocument {
  const all = docs.some((d) => d.pid === own.pid) ? docs : [own, ...docs];
  const sum = (f: (d: StatusDocument) => number): number => all.reduce((n, d) => n + f(d), 0);
  const servers = new Map<string, ServerStatus[]>();
  for (const d of all) for (const u of d.upstreams) for (const s of u.servers) {
    const key = serverIdentity({ upstream: u.name, name: s.name, url: s.url });
    servers.set(key, [...(servers.get(key) ?? []), s]);
  }
  // Every worker reloads on each SIGHUP (the primary forwards it), so summing would count one
  // reload once per worker. The most any worker counted is the cluster's count (a worker started
  // again after a crash has counted fewer); workers whose latest results differ are flagged.
  let last: StatusDocument['reloads']['last'] = null;
  for (const d of all) last = latest(last, d.reloads.last);
  const results = new Set(all.flatMap((d) => (d.reloads.last === null ? [] : [d.reloads.last.ok])));
  const most = (f: (d: StatusDocument) => number): number => Math.max(0, ...all.map(f));
  return {
    ...own,
    workers: all.map((d) => ({ pid: d.pid, uptime_s: d.uptime_s, rss_bytes: d.rss_bytes, in_flight: d.in_flight, requests_total: d.requests_total,
      draining: d.draining, reloads: { ok: d.reloads.ok, rejected: d.reloads.rejected, last: d.reloads.last } })).sort((a, b) => a.pid - b.pid),
    uptime_s: Math.max(...all.map((d) => d.uptime_s)),
    rss_bytes: sum((d) => d.rss_bytes),
    in_flight: sum((d) => d.in_flight),
    requests_total: sum((d) => d.requests_total),
    draining: all.some((d) => d.draining),
    reloads: { ok: most((d) => d.reloads.ok), rejected: most((d) => d.reloads.rejected), last, disagree: results.size > 1 },
    upstreams: own.upstreams.map((u) => ({
      ...u,
      servers: u.servers.map((s) => {
        const each = servers.get(serverIdentity({ upstream: u.name, name: s.name, url: s.url })) ?? [s];
        const ejected = each.map((x) => x.ejected_until).filter((x): x is number => x !== null);
        let check: ServerStatus['last_check'] = null;
        for (const x of each) check = latest(check, x.last_check);
        return {
          ...s,
          available: each.every((x) => x.available),
          inflight: each.reduce((n, x) => n + x.inflight, 0),
          requests: each.reduce((n, x) => n + x.requests, 0),
          ejected_until: ejected.length === 0 ? null : Math.max(...ejected),
          last_check: check,
          connections: { open: each.reduce((n, x) => n + x.connections.open, 0), idle: each.reduce((n, x) => n + x.connections.idle, 0) },
        };
      }),
    })),
  };
}

/** /status: this process's document, or under `--workers N` the merge of every worker's. */
async function statusText(gw: Gateway): Promise<string> {
  const own = statusDocument(gw);
  if (!inCluster()) return JSON.stringify(own);
  return JSON.stringify(mergeStatus(own, (await clusterStatus()) as StatusDocument[]));
}

function send(res: ClientResponse, status: number, type: string, body: string): void {
  res.writeHead(status, ['Content-Type', type, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store']);
  res.end(body);
}

/** Serves the gateway's own admin endpoints; returns false for paths it does not own. */
export function handleAdmin(gw: Gateway, req: ClientRequest, res: ClientResponse): boolean {
  const path = req.head.url.split('?', 1)[0];
  if (req.head.method !== 'GET' && req.head.method !== 'HEAD') return false;
  switch (path) {
    case '/metrics':
      (inCluster() ? clusterMetricsText() : gw.metrics.text()).then((text) => send(res, 200, gw.metrics.registry.contentType, text), (err: unknown) => send(res, 500, 'text/plain', String(err)));
      return true;
    case '/status':
      statusText(gw).then((text) => send(res, 200, 'application/json', text), (err: unknown) => send(res, 500, 'text/plain', String(err)));
      return true;
    case '/status.html':
      send(res, 200, 'text/html; charset=utf-8', STATUS_HTML);
      return true;
    default:
      return false;
  }
}
