/**
 * Server health (issue 3, point 3): active checks (`GET /health` every `interval`, `rise`
 * successes to admit, `fall` failures to remove) and passive ejection (`failures` consecutive
 * connect errors or 5xx answers within `window` eject a server for `eject_for`; an active check
 * that succeeds admits it sooner). This module is the only writer of `ServerState.available`
 * (STYLE.md: health lives on the server object; balancers only ask `available`).
 */
import http from 'node:http';
import type { ServerState } from '../routing/types.ts';
import { serverIdentity } from '../routing/table.ts';
import type { UpstreamConfig } from '../config/routes-schema.ts';
import { parseTarget } from './pool.ts';

/** Why a server's availability changed. */
export type HealthReason = 'active_fail' | 'active_ok' | 'passive_eject' | 'passive_readmit';

/** Hears every availability transition (metrics, logs). */
export type HealthListener = (server: ServerState, available: boolean, reason: HealthReason) => void;

/** Live health bookkeeping of one server. */
interface Record {
  server: ServerState;
  config: UpstreamConfig;
  peers: readonly ServerState[];
  activeUp: boolean;
  okStreak: number;
  failStreak: number;
  passiveFailures: number;
  firstFailureAt: number;
  ejectedUntil: number;
  readmitTimer: NodeJS.Timeout | null;
  checkTimer: NodeJS.Timeout | null;
  checking: boolean;
  lastCheck: { at: number; ok: boolean; detail: string } | null;
}

/** One upstream as the health monitor sees it. */
export interface MonitoredUpstream {
  readonly servers: readonly ServerState[];
  readonly config: UpstreamConfig;
}

/** Runs active checks and passive ejection for every server of the current table. */
export class HealthMonitor {
  /** By the current table's state objects. */
  private readonly records = new Map<ServerState, Record>();
  /** By (upstream, name, url): what survives a change of weight or `down`. */
  private readonly byIdentity = new Map<string, Record>();
  private readonly listener: HealthListener;
  private stopped = false;

  constructor(listener: HealthListener) {
    this.listener = listener;
  }

  /**
   * Adopts the servers of a (new) table: keeps state of servers that survive a reload. A server
   * whose weight or `down` changed gets a new ServerState (routing/table.ts defaultServerStore);
   * its record (availability, streaks, ejection, last check) is found by (upstream, name, url)
   * and moves to the new object, so the reload neither admits a failing server nor forgets an
   * ejection. Attempts that finish later on the old object still count (see attempt).
   */
  sync(upstreams: ReadonlyMap<string, MonitoredUpstream>): void {
    const seen = new Set<ServerState>();
    for (const up of upstreams.values()) {
      for (const server of up.servers) {
        seen.add(server);
        const old = this.records.get(server) ?? this.byIdentity.get(serverIdentity(server));
        if (old !== undefined) {
          if (old.server !== server) {
            this.records.delete(old.server);
            old.server = server;
            server.available = old.activeUp && old.ejectedUntil === 0;
            this.records.set(server, old);
          }
          old.config = up.config;
          old.peers = up.servers;
          this.schedule(old, true);
          continue;
        }
        const rec = newRecord(server, up);
        this.records.set(server, rec);
        this.byIdentity.set(serverIdentity(server), rec);
        this.apply(rec, 'active_ok');
        this.schedule(rec, true);
      }
    }
    for (const [server, rec] of this.records) if (!seen.has(server)) this.drop(rec);
  }

  /** Passive health: one attempt on `server` ended. */
  attempt(server: ServerState, outcome: 'ok' | 'failure'): void {
    // An exchange of the previous table may end on the object a reload replaced (same identity).
    const rec = this.records.get(server) ?? this.byIdentity.get(serverIdentity(server));
    if (rec === undefined || !rec.config.passive_health.enabled) return;
    if (outcome === 'ok') {
      rec.passiveFailures = 0;
      return;
    }
    const now = Date.now();
    if (rec.passiveFailures === 0 || now - rec.firstFailureAt > rec.config.passive_health.window) {
      rec.passiveFailures = 0;
      rec.firstFailureAt = now;
    }
    rec.passiveFailures++;
    if (rec.passiveFailures >= rec.config.passive_health.failures && rec.ejectedUntil === 0) this.eject(rec, now);
  }

  private eject(rec: Record, now: number): void {
    // Like nginx with a single server: never eject the last available server of an upstream
    // (a `down: true` server is never picked, so it does not count).
    if (!rec.peers.some((p) => p !== rec.server && p.available && !p.down)) return;
    const ms = rec.config.passive_health.eject_for;
    rec.ejectedUntil = now + ms;
    rec.passiveFailures = 0;
    rec.readmitTimer = setTimeout(() => this.readmit(rec), ms).unref();
    this.apply(rec, 'passive_eject');
  }

  private readmit(rec: Record): void {
    if (rec.readmitTimer !== null) clearTimeout(rec.readmitTimer);
    rec.readmitTimer = null;
    rec.ejectedUntil = 0;
    this.apply(rec, 'passive_readmit');
  }

  private apply(rec: Record, reason: HealthReason): void {
    const available = rec.activeUp && rec.ejectedUntil === 0;
    if (rec.server.available === available) return;
    rec.server.available = available;
    this.listener(rec.server, available, reason);
  }

  /**
   * (Re)starts the check loop of a server: exactly one timer or one probe in flight per record.
   * While a probe runs, its completion schedules the next check (with the config current then).
   */
  private schedule(rec: Record, restart: boolean): void {
    if (this.stopped) return;
    const hc = rec.config.health_check;
    if (rec.checkTimer !== null) clearTimeout(rec.checkTimer);
    rec.checkTimer = null;
    if (!hc.enabled) {
      rec.activeUp = true;
      return this.apply(rec, 'active_ok');
    }
    if (rec.checking) return;
    rec.checkTimer = setTimeout(() => this.check(rec), restart ? Math.min(hc.interval, 200) : hc.interval).unref();
  }

  private check(rec: Record): void {
    rec.checkTimer = null;
    if (rec.checking || this.records.get(rec.server) !== rec) return;
    rec.checking = true;
    probe(rec.server.url, rec.config.health_check.path, rec.config.health_check.timeout, (ok, detail) => {
      rec.checking = false;
      rec.lastCheck = { at: Date.now(), ok, detail };
      if (this.records.get(rec.server) !== rec) return;
      if (rec.config.health_check.enabled) this.activeResult(rec, ok);
      this.schedule(rec, false);
    });
  }

  private activeResult(rec: Record, ok: boolean): void {
    const hc = rec.config.health_check;
    if (ok) {
      rec.failStreak = 0;
      rec.okStreak++;
      if (!rec.activeUp && rec.okStreak >= hc.rise) rec.activeUp = true;
      if (rec.activeUp && rec.ejectedUntil !== 0) return this.readmit(rec); // fast re-admission
      return this.apply(rec, 'active_ok');
    }
    rec.okStreak = 0;
    rec.failStreak++;
    if (rec.activeUp && rec.failStreak >= hc.fall) rec.activeUp = false;
    this.apply(rec, 'active_fail');
  }

  private drop(rec: Record): void {
    if (rec.checkTimer !== null) clearTimeout(rec.checkTimer);
    if (rec.readmitTimer !== null) clearTimeout(rec.readmitTimer);
    rec.checkTimer = null;
    rec.readmitTimer = null;
    this.records.delete(rec.server);
    if (this.byIdentity.get(serverIdentity(rec.server)) === rec) this.byIdentity.delete(serverIdentity(rec.server));
  }

  /** The last active check of a server (for /status). */
  lastCheck(server: ServerState): { at: number; ok: boolean; detail: string } | null {
    return this.records.get(server)?.lastCheck ?? null;
  }

  /** Passive ejection deadline (epoch ms) or 0. */
  ejectedUntil(server: ServerState): number {
    return this.records.get(server)?.ejectedUntil ?? 0;
  }

  /** Stops every timer (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const rec of [...this.records.values()]) this.drop(rec);
  }
}

function newRecord(server: ServerState, up: MonitoredUpstream): Record {
  return {
    server, config: up.config, peers: up.servers, activeUp: true, okStreak: 0, failStreak: 0, passiveFailures: 0,
    firstFailureAt: 0, ejectedUntil: 0, readmitTimer: null, checkTimer: null, checking: false, lastCheck: null,
  };
}

/** One `GET path` with a deadline; 2xx is healthy. */
function probe(url: string, path: string, timeout: number, done: (ok: boolean, detail: string) => void): void {
  const t = parseTarget(url);
  let settled = false;
  const finish = (ok: boolean, detail: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(ok, detail);
  };
  const where = 'path' in t ? { socketPath: t.path } : { host: t.host, port: t.port };
  const req = http.request({ ...where, path, method: 'GET', agent: false, headers: { 'user-agent': 'switchyard-health' } }, (res) => {
    res.resume();
    const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
    finish(ok, `HTTP ${res.statusCode}`);
  });
  const timer = setTimeout(() => { finish(false, 'timeout'); req.destroy(); }, timeout);
  req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
  req.end();
}
