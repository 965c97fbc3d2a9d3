/**
 * The contracts between one proxied exchange (gateway/proxy.ts) and the gateway around it:
 * where connections come from, who hears about outcomes (metrics, logs, passive health), and the
 * routing facts an exchange starts from.
 */
import type { Balancer, ServerState } from '../routing/types.ts';
import type { ConnectionPool } from './pool.ts';
import type { Exchange } from './proxy.ts';
import type { RouteRuntime } from './route-runtime.ts';

/** What an exchange needs from the gateway around it. */
export interface ProxyContext {
  poolFor(server: ServerState): ConnectionPool;
  /** Picks a server of the default upstream (drift replay); null when none is available. */
  pickDefault(exclude: ReadonlySet<ServerState>): ServerState | null;
  readonly defaultUpstream: string;
  readonly driftReplay: boolean;
  readonly exposeServer: boolean;
  readonly observer: ExchangeObserver;
}

/** Metrics, logs and passive health hear about exchanges through this. */
export interface ExchangeObserver {
  /** One attempt on one server ended: 'ok', a connect/transport failure, or a 5xx answer. */
  attempt(server: ServerState, outcome: 'ok' | 'failure'): void;
  retry(ex: Exchange, from: ServerState): void;
  drift(ex: Exchange, from: ServerState): void;
  finish(ex: Exchange): void;
}

/** Routing facts an exchange starts from. */
export interface ExchangeStart {
  readonly runtime: RouteRuntime;
  readonly upstream: string;
  readonly balancer: Balancer;
  readonly key: string | null;
  readonly server: ServerState;
  readonly clientIp: string;
  readonly trustedPeer: boolean;
  readonly idempotent: boolean;
}
