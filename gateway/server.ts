/**
 * The running gateway: listeners, the current routing generation, upstream pools, health,
 * metrics and logs, reload (issue 3, point 5) and graceful shutdown (point 6). A reload compiles
 * a new table with the same ServerState store, so health survives, and swaps one reference;
 * requests already in flight keep the generation they started with. It also opens and closes
 * listeners whose addresses changed (see reload).
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { loadRoutesFile } from '../config/routes.ts';
import { ConfigError, formatIssue } from '../config/errors.ts';
import type { RoutesConfig, ListenerConfig } from '../config/routes-schema.ts';
import { compileTable, defaultServerStore, type ServerStore } from '../routing/table.ts';
import { CidrSet } from '../routing/cidr.ts';
import type { ServerState } from '../routing/types.ts';
import { AccessLog, eventLogger, redactUrl, type AccessLogTarget } from './access-log.ts';
import { handleRequest, type Generation, type HandlerHost } from './handler.ts';
import { HealthMonitor } from './health.ts';
import { GatewayMetrics } from './metrics.ts';
import { ConnectionPool, parseTarget } from './pool.ts';
import type { Exchange, ExchangeObserver } from './proxy.ts';
import type { ClientRequest, ClientResponse } from './client-message.ts';
import { Http1Server } from './http1-server.ts';
import { keptRequestHeaders } from './headers.ts';
import { RuntimeIndex, type RouteRuntime } from './route-runtime.ts';
import { handleAdmin, statusDocument } from './admin.ts';
import { setupWorkerStatus } from './cluster-metrics.ts';

/** Longest wait for a whole request head, and for the next request on an idle keep-alive connection. */
const HEADERS_TIMEOUT_MS = 60_000;

/** How the gateway is started (gateway/commands/serve.ts builds this from the command line). */
export interface GatewayOptions {
  readonly routesFile: string;
  readonly accessLog: AccessLogTarget;
  /** Longest wait for in-flight requests on SIGTERM (ms). */
  readonly drainTimeout: number;
  readonly log?: Logger;
}

/** One open listener; `config` is replaced when a reload keeps its address. */
interface ListenerEntry {
  server: Http1Server;
  config: ListenerConfig;
}

/** One gateway process. */
export class Gateway implements HandlerHost {
  generation: Generation;
  readonly options: GatewayOptions;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly health: HealthMonitor;
  readonly accessLog: AccessLog;
  readonly observer: ExchangeObserver;
  readonly startedAt = Date.now();
  reloads = { ok: 0, rejected: 0, last: null as null | { at: number; ok: boolean; errors: string[] } };
  active = 0;
  draining = false;
  private readonly store: ServerStore = defaultServerStore();
  private readonly pools = new Map<string, ConnectionPool>();
  private readonly listeners: ListenerEntry[] = [];
  /** Listeners a reload removed: closed to new connections, their open ones still draining. */
  private readonly retired: Http1Server[] = [];

  constructor(options: GatewayOptions) {
    this.options = options;
    this.log = options.log ?? eventLogger();
    this.accessLog = new AccessLog(options.accessLog);
    this.metrics = new GatewayMetrics(() => this.allServers(), () => this.active);
    this.health = new HealthMonitor((s, up, reason) => this.onHealth(s, up, reason));
    this.observer = this.makeObserver();
    const loaded = loadRoutesFile(options.routesFile);
    for (const w of loaded.warnings) this.log.warn(formatIssue(w));
    this.generation = this.compile(loaded.config);
    this.adopt();
    if (cluster.isWorker) setupWorkerStatus(() => statusDocument(this));
  }

  get config(): RoutesConfig {
    return this.generation.table.config;
  }
  get defaultUpstream(): string {
    return this.generation.table.defaultUpstream.name;
  }
  get driftReplay(): boolean {
    return this.config.drift_replay;
  }
  get exposeServer(): boolean {
    return this.config.expose_server_header;
  }

  private compile(config: RoutesConfig): Generation {
    const table = compileTable(config, { store: this.store });
    const keepalive = new Map<string, number>();
    for (const up of table.upstreams.values()) for (const s of up.servers) keepalive.set(s.url, up.config.keepalive);
    for (const [url, maxIdle] of keepalive) {
      const pool = this.pools.get(url);
      if (pool) pool.options = { maxIdle, idleTimeout: config.timeouts.idle };
      else this.pools.set(url, new ConnectionPool(parseTarget(url), { maxIdle, idleTimeout: config.timeouts.idle }));
    }
    for (const [url, pool] of this.pools) if (!keepalive.has(url)) pool.closeIdle();
    const wanted = keptRequestHeaders(table.headerNames);
    return { table, runtimes: new RuntimeIndex(config), trusted: new CidrSet(config.trusted_proxies), maxHeader: config.limits.max_header, wanted };
  }

  /** Every server of the current table. */
  *allServers(): Iterable<ServerState> {
    for (const up of this.generation.table.upstreams.values()) yield* up.servers;
  }

  poolFor(server: ServerState): ConnectionPool {
    let pool = this.pools.get(server.url);
    if (pool === undefined) {
      pool = new ConnectionPool(parseTarget(server.url), { maxIdle: 128, idleTimeout: this.config.timeouts.idle });
      this.pools.set(server.url, pool);
    }
    return pool;
  }

  /** Pool of a server, if one was made (for /status). */
  poolOf(server: ServerState): ConnectionPool | undefined {
    return this.pools.get(server.url);
  }

  pickDefault(exclude: ReadonlySet<ServerState>): ServerState | null {
    return this.generation.table.defaultUpstream.balancer.pick(null, exclude);
  }

  begin(): void {
    this.active++;
  }

  finishLocal(req: ClientRequest, rt: RouteRuntime, upstream: string, status: number, error: string, start: number): void {
    const ms = performance.now() - start;
    this.metrics.request(rt, upstream, null, status, ms / 1000);
    this.accessLog.write({ method: req.head.method, url: req.head.url, route: rt.name, upstream, server: null, status, durationMs: ms, bytes: 0, retried: false, replayed: false, error });
  }

  private makeObserver(): ExchangeObserver {
    return {
      attempt: (server, outcome) => this.health.attempt(server, outcome),
      retry: (ex, from) => {
        this.metrics.retry(ex.runtime, ex.upstream);
        this.log.warn({ route: ex.runtime.name, server: from.name, path: redactUrl(ex.req.head.url) }, 'connect failed; retrying on the next server');
      },
      drift: (ex, from) => {
        this.metrics.driftReplay(ex.runtime, from);
        this.log.warn({ route: ex.runtime.name, upstream: ex.upstream, server: from.name, method: ex.req.head.method, endpoint: redactUrl(ex.req.head.url) },
          'routing drift: the worker answered M_UNRECOGNIZED; replayed to the default upstream (correct the routes for this endpoint)');
      },
      finish: (ex) => this.finishExchange(ex),
    };
  }

  private finishExchange(ex: Exchange): void {
    this.active--;
    const ms = ex.elapsed();
    this.metrics.request(ex.runtime, ex.upstream, ex.server, ex.status, ms / 1000);
    if (this.accessLog.enabled) {
      this.accessLog.write({ method: ex.req.head.method, url: ex.req.head.url, route: ex.runtime.name, upstream: ex.upstream, server: ex.server.name,
        status: ex.status, durationMs: ms, bytes: ex.bytesOut, retried: ex.retried, replayed: ex.replayed, error: ex.error });
    }
    if (this.draining && this.active === 0) this.drained?.();
  }

  private onHealth(server: ServerState, available: boolean, reason: string): void {
    if (!available) this.metrics.ejection(server, reason);
    this.log.info({ upstream: server.upstream, server: server.name, available, reason }, available ? 'server available' : 'server unavailable');
  }

  /**
   * The current table's servers become the ones known: a server whose weight or `down` changed has
   * a new state object (routing/table.ts defaultServerStore) and keeps its health (HealthMonitor.sync)
   * and /status count (counted by upstream, name and url); removed servers are forgotten by the
   * store, the health monitor and the /status counts.
   */
  private adopt(): void {
    this.health.sync(this.generation.table.upstreams);
    this.metrics.keepServers(this.allServers());
    this.store.retain(this.allServers());
  }

  /**
   * Re-reads routes.yaml; on any error the current table and listeners stay (issue 3, point 5).
   * Listener changes apply like nginx's: a listener whose address is new is opened before the
   * swap (if one cannot be bound the reload is rejected), one whose address is gone stops
   * accepting after the swap and its connections drain (busy ones close after their response),
   * and one whose address stays keeps its socket and takes its new name and kind. Reloads run
   * one at a time.
   */
  reload(): Promise<boolean> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run;
    return run;
  }

  private reloading: Promise<unknown> = Promise.resolve();

  private async reloadNow(): Promise<boolean> {
    let opened: ListenerEntry[] = [];
    try {
      if (this.draining) throw new Error('shutting down');
      const loaded = loadRoutesFile(this.options.routesFile);
      for (const w of loaded.warnings) this.log.warn(formatIssue(w));
      const plan = this.planListeners(loaded.config.listeners);
      opened = await this.openListeners(plan.open);
      // A shutdown that started during the bind has closed the listeners it knew of: these must not stay open.
      if (this.draining) throw new Error('shutting down');
      this.generation = this.compile(loaded.config);
      this.adopt();
      for (const [entry, config] of plan.keep) entry.config = config;
      for (const entry of plan.close) {
        this.retire(entry.server);
        this.log.info({ listener: entry.config.name, kind: entry.config.kind, address: entry.server.server.address() }, 'listener closed (reload)');
      }
      this.listeners.splice(0, this.listeners.length, ...plan.keep.map(([e]) => e), ...opened);
      this.reloads.ok++;
      this.reloads.last = { at: Date.now(), ok: true, errors: [] };
      this.metrics.reload('ok');
      this.log.info({ routes: loaded.config.routes.length, listeners_opened: opened.length, listeners_closed: plan.close.length }, 'routes reloaded');
      return true;
    } catch (err) {
      for (const entry of opened) this.retire(entry.server); // the old table's requests may have started on them
      const errors = err instanceof ConfigError ? err.issues.filter((i) => i.severity === 'error').map(formatIssue) : [err instanceof Error ? err.message : String(err)];
      this.reloads.rejected++;
      this.reloads.last = { at: Date.now(), ok: false, errors };
      this.metrics.reload('rejected');
      this.log.error({ errors }, 'reload rejected; keeping the current routes and listeners');
      return false;
    }
  }

  /** Stops `server` accepting; it stays in `retired` (a shutdown's deadline cuts its connections) until its last connection closed. */
  private retire(server: Http1Server): void {
    this.retired.push(server);
    server.close(() => {
      const i = this.retired.indexOf(server);
      if (i >= 0) this.retired.splice(i, 1);
    });
  }

  /**
   * Matches the new listeners with the open ones by address (host and port as written; a port-0
   * listener, bound to some free port, matches only the one of the same name).
   */
  private planListeners(wanted: readonly ListenerConfig[]): { keep: [ListenerEntry, ListenerConfig][]; open: ListenerConfig[]; close: ListenerEntry[] } {
    const free = new Set(this.listeners);
    const keep: [ListenerEntry, ListenerConfig][] = [];
    const open: ListenerConfig[] = [];
    for (const l of wanted) {
      const same = [...free].find((e) => e.config.host === l.host && e.config.port === l.port && (l.port !== 0 || e.config.name === l.name));
      if (same === undefined) open.push(l);
      else {
        free.delete(same);
        keep.push([same, l]);
      }
    }
    return { keep, open, close: [...free] };
  }

  /** Opens `configs`; if one fails, closes those opened and throws which one failed and why. */
  private async openListeners(configs: readonly ListenerConfig[]): Promise<ListenerEntry[]> {
    const opened: ListenerEntry[] = [];
    for (const l of configs) {
      try {
        opened.push(await this.openListener(l));
      } catch (err) {
        for (const e of opened) this.retire(e.server);
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new Error(`listener '${l.name}' (${l.host}:${l.port}) cannot be opened: ${code}` +
          (code === 'EADDRINUSE' ? ' (moving a listener onto an address another process or an old listener holds needs a restart)' : ''));
      }
    }
    return opened;
  }

  private async openListener(l: ListenerConfig): Promise<ListenerEntry> {
    // The listener's head limit is read per connection, so a reload that changes it applies to new requests.
    const gen = (): Generation => this.generation;
    const limits = { get maxHeader() { return gen().maxHeader; }, get wanted() { return gen().wanted; }, headersTimeout: HEADERS_TIMEOUT_MS };
    const entry = { config: l } as ListenerEntry;
    // The kind is read per request: a reload may change it on a listener that stays open.
    const server = new Http1Server(limits, (req, res) => this.dispatch(req, res, entry.config.kind));
    await server.listen(l.port, l.host);
    entry.server = server;
    this.log.info({ listener: l.name, kind: l.kind, address: server.server.address() }, 'listening');
    return entry;
  }

  /** Opens every listener of the routes file. */
  async listen(): Promise<void> {
    for (const l of this.config.listeners) this.listeners.push(await this.openListener(l));
  }

  private dispatch(req: ClientRequest, res: ClientResponse, kind: 'public' | 'admin'): void {
    if (this.draining) res.keepAlive = false;
    if (kind === 'admin' && handleAdmin(this, req, res)) return;
    handleRequest(this, req, res, kind);
  }

  /** Bound addresses (tests use port 0). */
  addresses(): { name: string; kind: string; port: number; host: string }[] {
    return this.listeners.map(({ server, config }) => {
      const a = server.server.address();
      return { name: config.name, kind: config.kind, host: config.host, port: typeof a === 'object' && a ? a.port : config.port };
    });
  }

  private drained: (() => void) | null = null;

  /**
   * Stops accepting, drains in-flight requests up to the deadline, closes everything. A reload
   * still binding a listener is waited for (it then closes what it opened and is rejected).
   */
  async shutdown(): Promise<'drained' | 'deadline'> {
    this.draining = true;
    for (const { server } of this.listeners) server.close();
    const reload = this.reloading;
    const result = await new Promise<'drained' | 'deadline'>((resolve) => {
      let reloaded = false;
      const timer = setTimeout(() => resolve('deadline'), this.options.drainTimeout);
      const check = (): void => {
        if (!reloaded || this.active !== 0) return;
        clearTimeout(timer);
        resolve('drained');
      };
      this.drained = check;
      void reload.then(() => { reloaded = true; check(); });
    });
    for (const { server } of this.listeners) server.closeAll();
    for (const server of this.retired) server.closeAll();
    this.health.stop();
    for (const pool of this.pools.values()) pool.closeIdle();
    this.accessLog.flush();
    return result;
  }
}
