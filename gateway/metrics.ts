/**
 * Prometheus metrics of the data plane (issue 3, point 8), served on the admin listener. Label
 * children are bound once and cached per route and server, so the hot path pays two Map lookups
 * and an increment instead of prom-client's label hashing.
 */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { ServerState } from '../routing/types.ts';
import type { RouteRuntime } from './route-runtime.ts';

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/** Cached children of one route. */
interface RouteSlot {
  duration: HistogramChild;
  /** server → status → requests counter child. */
  requests: Map<ServerState | null, Map<number, CounterChild>>;
  /** Request counts per server since start (for /status request rates). */
}

/** Everything the gateway counts. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly retries: Counter<string>;
  private readonly ejections: Counter<string>;
  private readonly drift: Counter<string>;
  private readonly reloads: Counter<string>;
  private readonly healthy: Gauge<string>;
  readonly inflight: Gauge<string>;
  /** Requests completed per server (name key `upstream/server`), read by /status for rates. */
  readonly perServer = new Map<ServerState, number>();
  total = 0;

  constructor(servers: () => Iterable<ServerState>, inFlight: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_' });
    this.requests = new Counter({ name: 'gateway_requests_total', help: 'Proxied requests by route, upstream, server and status', labelNames: ['route', 'upstream', 'server', 'status'], registers });
    this.duration = new Histogram({
      name: 'gateway_request_duration_seconds', help: 'Time from request arrival to the end of the response, per route', labelNames: ['route'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.retries = new Counter({ name: 'gateway_retries_total', help: 'Requests retried on another server after a connect failure', labelNames: ['route', 'upstream'], registers });
    this.ejections = new Counter({ name: 'gateway_upstream_ejections_total', help: 'Servers taken out by failed active checks or passive ejection', labelNames: ['upstream', 'server', 'reason'], registers });
    this.drift = new Counter({ name: 'gateway_routing_drift_total', help: 'Worker answers M_UNRECOGNIZED replayed to the default upstream (issue 4)', labelNames: ['route', 'server'], registers });
    this.reloads = new Counter({ name: 'gateway_reloads_total', help: 'routes.yaml reloads by result', labelNames: ['result'], registers });
    this.inflight = new Gauge({ name: 'gateway_requests_in_flight', help: 'Requests being proxied now', registers, collect: () => this.inflight.set(inFlight()) });
    this.healthy = new Gauge({
      name: 'gateway_upstream_server_available', help: '1 when the server is available (health checks and passive ejection)', labelNames: ['upstream', 'server'], registers,
      collect: () => {
        this.healthy.reset();
        for (const s of servers()) this.healthy.labels(s.upstream, s.name).set(s.available && !s.down ? 1 : 0);
      },
    });
    this.addServerInflight(servers, registers);
  }

  private addServerInflight(servers: () => Iterable<ServerState>, registers: Registry[]): void {
    const g: Gauge<string> = new Gauge({
      name: 'gateway_upstream_server_in_flight', help: 'Requests in flight per server', labelNames: ['upstream', 'server'], registers,
      collect: () => {
        g.reset();
        for (const s of servers()) g.labels(s.upstream, s.name).set(s.inflight);
      },
    });
  }

  private slot(rt: RouteRuntime): RouteSlot {
    let slot = rt.slot as RouteSlot | undefined;
    if (slot === undefined) {
      slot = { duration: this.duration.labels(rt.name), requests: new Map() };
      rt.slot = slot;
    }
    return slot;
  }

  /** Counts one finished request (hot path). */
  request(rt: RouteRuntime, upstream: string, server: ServerState | null, status: number, seconds: number): void {
    const slot = this.slot(rt);
    let byStatus = slot.requests.get(server);
    if (byStatus === undefined) slot.requests.set(server, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (child === undefined) byStatus.set(status, (child = this.requests.labels(rt.name, upstream, server?.name ?? '', String(status))));
    child.inc();
    slot.duration.observe(seconds);
    this.total++;
    if (server !== null) this.perServer.set(server, (this.perServer.get(server) ?? 0) + 1);
  }

  retry(rt: RouteRuntime, upstream: string): void {
    this.retries.labels(rt.name, upstream).inc();
  }

  driftReplay(rt: RouteRuntime, server: ServerState): void {
    this.drift.labels(rt.name, server.name).inc();
  }

  ejection(server: ServerState, reason: string): void {
    this.ejections.labels(server.upstream, server.name, reason).inc();
  }

  reload(result: 'ok' | 'rejected'): void {
    this.reloads.labels(result).inc();
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
