/**
 * The gateway's own endpoints on the admin listener (issue 3, point 8): `/metrics` (Prometheus
 * text), `/status` (JSON: pools, servers, health, request counts, reloads) and `/status.html` (a
 * self-contained page rendering /status). Every other path on the admin listener is proxied like
 * a public request, with the admin listener's rules (routing/security.ts).
 */
import type { ClientRequest, ClientResponse } from './client-message.ts';
import type { ServerState } from '../routing/types.ts';
import type { Gateway } from './server.ts';
import { STATUS_HTML } from './status-page.ts';
import { clusterMetricsText, inCluster } from './cluster-metrics.ts';

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

/** The /status document. */
export interface StatusDocument {
  pid: number;
  uptime_s: number;
  rss_bytes: number;
  memory: NodeJS.MemoryUsage;
  in_flight: number;
  requests_total: number;
  draining: boolean;
  reloads: Gateway['reloads'];
  routes: number;
  default_upstream: string;
  upstreams: { name: string; policy: string; servers: ServerStatus[] }[];
}

function serverStatus(gw: Gateway, s: ServerState): ServerStatus {
  const pool = gw.poolOf(s);
  const ejected = gw.health.ejectedUntil(s);
  return {
    name: s.name, url: s.url, weight: s.weight, down: s.down, available: s.available && !s.down, inflight: s.inflight,
    requests: gw.metrics.perServer.get(s) ?? 0, ejected_until: ejected === 0 ? null : ejected, last_check: gw.health.lastCheck(s),
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
      send(res, 200, 'application/json', JSON.stringify(statusDocument(gw)));
      return true;
    case '/status.html':
      send(res, 200, 'text/html; charset=utf-8', STATUS_HTML);
      return true;
    default:
      return false;
  }
}
