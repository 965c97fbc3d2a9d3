/**
 * `gateway loadtest --scenario routing` (issue 6 point 3): replays the simulate traffic model
 * (tokens in header and query, since tokens, both room-ID spellings, X-Matrix federation
 * transactions) over N keep-alive connections of one undici Pool, closed-loop or at a fixed
 * offered rate, and reports latency per traffic category, status counts, and the serving server
 * when the target names it (`X-Switchyard-Server` with `expose_server_header: true`, else
 * `X-Upstream` as shared/bench's upstreams send it).
 */
import { Pool } from 'undici';
import { CATEGORIES, type Category, type Mix } from '../../routing/simulate/mix.ts';
import { createTrafficModel, type GeneratedRequest } from '../../routing/simulate/traffic.ts';
import { bump, LatencyRecorder, type LatencySummary } from './stats.ts';
import { graceMs, rateWarnings, runLoop, type LoopOptions, type LoopResult } from './loop.ts';
import { connectOptions } from './target.ts';

export interface RoutingOptions extends LoopOptions {
  readonly target: URL;
  readonly users: number;
  readonly rooms: number;
  readonly origins: number;
  readonly seed: string;
  readonly mix?: Mix;
}

export interface RouteStats {
  readonly route: Category;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly latencyMs: LatencySummary;
  readonly servers: Record<string, number>;
}

export interface RoutingResult {
  readonly scenario: 'routing';
  readonly target: string;
  /** The measured window (--duration); rates are per second of it. */
  readonly durationS: number;
  /** Wall time from the end of the warm-up until the last request settled (at most duration + grace). */
  readonly elapsedS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly rate: number | null;
  /** Requests sent in the measured window: completed + aborted + other errors. */
  readonly requests: number;
  /** Requests that got a response (any status). */
  readonly completed: number;
  /** Requests still unanswered at duration + grace (also in errors as aborted_at_deadline). */
  readonly aborted: number;
  /**
   * With --rate: requests that fell due in the measured window but were never sent because every
   * connection was busy until the deadline (also in errors as not_sent). Each is in latencyMs at
   * (end of run − due time).
   */
  readonly notSent: number;
  /** Completed requests per second of the measured window. */
  readonly requestsPerSecond: number;
  /** E.g. the achieved rate fell well below --rate. Printed first in the text output, on stderr with --json. */
  readonly warnings: readonly string[];
  readonly statuses: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly latencyMs: LatencySummary;
  readonly routes: readonly RouteStats[];
  /** Which response header named the server ('x-switchyard-server' or 'x-upstream'), or null when none did. */
  readonly serverHeader: string | null;
  readonly servers: Record<string, number>;
}

interface Acc {
  all: LatencyRecorder;
  per: Map<Category, { lat: LatencyRecorder; statuses: Record<string, number>; servers: Record<string, number> }>;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  servers: Record<string, number>;
  serverHeader: string | null;
}

/** Runs the routing scenario to completion (duration plus at most the grace period). */
export async function runRoutingScenario(o: RoutingOptions, onProgress?: (status: () => string) => () => void): Promise<RoutingResult> {
  const model = createTrafficModel({ users: o.users, rooms: o.rooms, origins: o.origins, seed: o.seed, mix: o.mix, syncTimeoutMs: 0 });
  const pool = new Pool(o.target.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 30_000, connect: connectOptions(o.target, graceMs(o)) });
  const acc: Acc = { all: new LatencyRecorder(), per: new Map(), statuses: {}, errors: {}, servers: {}, serverHeader: null };
  const stop = onProgress?.(() => progressLine(acc, o));
  const base = o.target.pathname.replace(/\/$/, '');
  const run = await runLoop(o, async (signal, scheduledAt, measured) => {
    const g = model.next();
    const outcome = await send(pool, base, g, signal);
    if (measured) record(acc, g.category, performance.now() - scheduledAt, outcome);
  }, (due, endedAt) => {
    // Due but never sent (every connection was blocked): its latency is at least the time it waited.
    bump(acc.errors, 'not_sent');
    acc.all.record(endedAt - due);
  });
  stop?.();
  await pool.destroy();
  return result(acc, o, run);
}

type Outcome = { status: number; server: string | null; header: string | null } | { error: string };

async function send(pool: Pool, base: string, g: GeneratedRequest, signal: AbortSignal): Promise<Outcome> {
  const { req, body } = g;
  const headers: Record<string, string> = { ...(req.headers as Record<string, string>) };
  if (body !== null) headers['content-type'] = 'application/json';
  try {
    const res = await pool.request({
      method: req.method as 'GET', path: `${base}${req.path}${req.query ? `?${req.query}` : ''}`,
      headers, body: body ?? undefined, signal, headersTimeout: 10_000, bodyTimeout: 10_000,
    });
    await res.body.dump();
    const named = res.headers['x-switchyard-server'];
    const upstream = res.headers['x-upstream'];
    if (typeof named === 'string') return { status: res.statusCode, server: named, header: 'x-switchyard-server' };
    if (typeof upstream === 'string') return { status: res.statusCode, server: upstream, header: 'x-upstream' };
    return { status: res.statusCode, server: null, header: null };
  } catch (err) {
    return { error: signal.aborted ? 'aborted_at_deadline' : String((err as { code?: string }).code ?? (err as Error).name) };
  }
}

/** Errors that mean the target stalled; their latency (at least due → abort) is recorded. */
const STALLED = new Set(['aborted_at_deadline', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function record(acc: Acc, category: Category, ms: number, o: Outcome): void {
  let per = acc.per.get(category);
  if (!per) acc.per.set(category, per = { lat: new LatencyRecorder(), statuses: {}, servers: {} });
  if ('error' in o) {
    bump(acc.errors, o.error);
    bump(per.statuses, 'error');
    // A request that stalled until it was aborted or timed out waited at least this long: leaving
    // it out of the percentiles would hide the stall (coordinated omission).
    if (STALLED.has(o.error)) {
      acc.all.record(ms);
      per.lat.record(ms);
    }
    return;
  }
  acc.all.record(ms);
  per.lat.record(ms);
  bump(acc.statuses, String(o.status));
  bump(per.statuses, String(o.status));
  if (o.server !== null) {
    // Prefer the gateway's own header once any response carried it.
    if (acc.serverHeader !== 'x-switchyard-server') acc.serverHeader = o.header;
    bump(acc.servers, o.server);
    bump(per.servers, o.server);
  }
}

function progressLine(acc: Acc, o: RoutingOptions): string {
  const errors = Object.values(acc.errors).reduce((s, x) => s + x, 0);
  const completed = Object.values(acc.statuses).reduce((s, x) => s + x, 0);
  return `${completed} requests, ${errors} errors${o.rate ? `, offered ${o.rate}/s` : ''}`;
}

function result(acc: Acc, o: RoutingOptions, run: LoopResult): RoutingResult {
  const completed = Object.values(acc.statuses).reduce((s, x) => s + x, 0);
  const notSent = acc.errors.not_sent ?? 0;
  const requests = completed + Object.values(acc.errors).reduce((s, x) => s + x, 0) - notSent;
  return {
    scenario: 'routing', target: o.target.href, durationS: o.durationMs / 1000, elapsedS: Math.round(run.elapsedMs) / 1000,
    warmupS: (o.warmupMs ?? 0) / 1000, connections: o.connections, rate: o.rate,
    requests, completed, aborted: acc.errors.aborted_at_deadline ?? 0, notSent,
    requestsPerSecond: Math.round((completed / (o.durationMs / 1000)) * 10) / 10,
    warnings: rateWarnings(o, run, 'requests'),
    statuses: acc.statuses, errors: acc.errors, latencyMs: acc.all.summary(),
    routes: CATEGORIES.flatMap((route) => {
      const p = acc.per.get(route);
      if (!p) return [];
      const n = Object.values(p.statuses).reduce((s, x) => s + x, 0);
      return [{ route, requests: n, statuses: p.statuses, latencyMs: p.lat.summary(), servers: p.servers }];
    }),
    serverHeader: acc.serverHeader, servers: acc.servers,
  };
}
