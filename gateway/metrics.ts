/**
 * Prometheus metrics of the data plane (issue 3, point 8), served on the admin listener. Label
 * children are bound once and cached per route and server, so the hot path pays two Map lookups
 * and an increment instead of prom-client's label hashing.
 */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { ServerState } from '../routing/types.ts';
import { serverIdentity } from '../routing/table.ts';
import type { RouteRuntime } from './route-runtime.ts';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Plain accumulators of one route: the hot path only does arithmetic; scrapes read them. */
interface RouteSlot {
  readonly route: string;
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
  /** server → status → [upstream, count]. */
  readonly requests: Map<ServerCount | null, Map<number, { upstream: string; count: number }>>;
}

/** Requests completed by one server, identified by (upstream, name, url): reloads that replace its state object keep it. */
interface ServerCount {
  readonly name: string;
  count: number;
}

/** A value in prom-client's metric-get format. */
interface MetricValue { value: number; labels: Record<string, string | number>; metricName?: string }

/** The per-route latency histogram, read from the route slots at scrape time. */
class RouteLatency {
  readonly name = 'gateway_request_duration_seconds';
  readonly help = 'Time from request arrival to the end of the response, per route';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly slots: () => Iterable<RouteSlot>;

  constructor(slots: () => Iterable<RouteSlot>) {
    this.slots = slots;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.slots()) {
      let acc = 0;
      BUCKETS.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ value: acc, labels: { route: s.route, le }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { route: s.route, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { route: s.route }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { route: s.route }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** Everything the gateway counts. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  /** Route slots by route name (a reload keeps counting into the same slot). */
  private readonly slots = new Map<string, RouteSlot>();
  private readonly retries: Counter<string>;
  private readonly ejections: Counter<string>;
  private readonly drift: Counter<string>;
  private readonly reloads: Counter<string>;
  private readonly healthy: Gauge<string>;
  readonly inflight: Gauge<string>;
  /** Requests completed per server by (upstream, name, url), read by /status for rates (see keepServers). */
  private readonly perServer = new Map<string, ServerCount>();
  /** The count of each state object (weak: a replaced object goes with the last request of its table). */
  private readonly counts = new WeakMap<ServerState, ServerCount>();
  total = 0;

  constructor(servers: () => Iterable<ServerState>, inFlight: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_' });
    this.requests = new Counter({
      name: 'gateway_requests_total', help: 'Proxied requests by route, upstream, server and status', labelNames: ['route', 'upstream', 'server', 'status'], registers,
      collect: () => this.collectRequests(),
    });
    this.registry.registerMetric(new RouteLatency(() => this.slots.values()) as unknown as Histogram<string>);
    this.retries = new Counter({ name: 'gateway_retries_total', help: 'Requests retried on another server after a connect failure', labelNames: ['route', 'upstream'], registers });
    this.ejections = new Counter({ name: 'gateway_upstream_ejections_total', help: 'Servers taken out by failed active checks or passive ejection', labelNames: ['upstream', 'server', 'reason'], registers });
    this.drift = new Counter({ name: 'gateway_routing_drift_total', help: 'Worker answers M_UNRECOGNIZED replayed to the default upstream (issue 4)', labelNames: ['route', 'server'], registers });
    this.reloads = new Counter({ name: 'gateway_reloads_total', help: 'routes.yaml reloads by result', labelNames: ['result'], registers });
    this.inflight = new Gauge({ name: 'gateway_requests_in_flight', help: 'Requests being proxied now', registers, collect: () => this.inflight.set(inFlight()) });
    this.healthy = new Gauge({
      name: 'gateway_upstream_server_available', help: '1 when the server is available (health checks and passive ejection)', labelNames: ['upstream', 'server'], registers,
      aggregator: 'min',
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
    let slot = this.slots.get(rt.name);
    if (slot === undefined) {
      slot = { route: rt.name, buckets: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0, requests: new Map() };
      this.slots.set(rt.name, slot);
    }
    rt.slot = slot;
    return slot;
  }

  private countOf(server: ServerState): ServerCount {
    let c = this.counts.get(server);
    if (c === undefined) {
      const key = serverIdentity(server);
      c = this.perServer.get(key);
      if (c === undefined) this.perServer.set(key, (c = { name: server.name, count: 0 }));
      this.counts.set(server, c);
    }
    return c;
  }

  /**
   * After a reload: keeps the /status counts of `current` (the new table's servers; a state object
   * that replaced one of the same upstream, name and url shares its count) and drops the others.
   * A request still in flight on a removed server ends on a count nobody reads.
   */
  keepServers(current: Iterable<ServerState>): void {
    const kept = new Set<ServerCount>();
    for (const s of current) kept.add(this.countOf(s));
    for (const [key, c] of this.perServer) if (!kept.has(c)) this.perServer.delete(key);
  }

  /** Requests completed by `server` (for /status). */
  serverRequests(server: ServerState): number {
    return this.countOf(server).count;
  }

  /** How many servers have a /status count. */
  serverCount(): number {
    return this.perServer.size;
  }

  /** Counts one finished request (hot path: map lookups and arithmetic only). */
  request(rt: RouteRuntime, upstream: string, server: ServerState | null, status: number, seconds: number): void {
    const slot = (rt.slot as RouteSlot | undefined) ?? this.slot(rt);
    const count = server === null ? null : this.countOf(server);
    let byStatus = slot.requests.get(count);
    if (byStatus === undefined) slot.requests.set(count, (byStatus = new Map()));
    let cell = byStatus.get(status);
    if (cell === undefined) byStatus.set(status, (cell = { upstream, count: 0 }));
    cell.count++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    slot.buckets[b]!++;
    slot.sum += seconds;
    slot.count++;
    this.total++;
    if (count !== null) count.count++;
  }

  private collectRequests(): void {
    this.requests.reset();
    for (const slot of this.slots.values()) {
      for (const [server, byStatus] of slot.requests) {
        for (const [status, cell] of byStatus) this.requests.labels(slot.route, cell.upstream, server?.name ?? '', String(status)).inc(cell.count);
      }
    }
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
