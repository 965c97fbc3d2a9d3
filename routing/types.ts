/**
 * The contracts between the routing core (routing/), its configuration (config/) and the data
 * plane (gateway/). Key extractors decide *which key*; balancers decide *how to pick*; health
 * lives on the server object and balancers only ever ask `available`.
 */
import type { Balance, KeySpec, PolicyName, RouteConfig } from '../config/routes-schema.ts';

/** What the router sees of one request. Built once per request by the data plane (or by explain/simulate). */
export interface RouteRequest {
  /** Upper-case method. */
  readonly method: string;
  /** Raw path as received, without the query string. Matched byte-for-byte and forwarded as is. */
  readonly path: string;
  /** Raw query string without the leading `?` ('' when absent). */
  readonly query: string;
  /** Lower-case header names, as node:http's IncomingMessage.headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Address of the immediate peer (the socket's remote address). */
  readonly sourceIp: string;
  /**
   * True when the caller has made sure `path` holds no line terminator (LF, CR, U+2028, U+2029),
   * as the gateway's request-line check does (it admits only the bytes 0x21–0x7E and 0x80–0xFF,
   * read as latin1): the path matcher
   * then skips its own search for them. Absent or false: the matcher searches. Setting it for a
   * path that has one may misroute that request.
   */
  readonly plainPath?: boolean;
}

/**
 * One upstream server and its live state. The health checkers (active and passive) are the only
 * writers of `available`; balancers read it. State objects survive reloads (see ServerStateStore).
 */
export interface ServerState {
  readonly upstream: string;
  readonly name: string;
  readonly url: string;
  readonly weight: number;
  /** Administratively down (config `down: true`): never picked, but kept on hash rings. */
  readonly down: boolean;
  /** False while health checks or passive ejection keep the server out. */
  available: boolean;
  /** Requests sent to this server and not yet finished (least-outstanding, bounded load). */
  inflight: number;
}

/** Supplies server state objects, so a reload keeps health and counters of unchanged servers. */
export type ServerStateStore = (upstream: string, name: string, url: string, weight: number, down: boolean) => ServerState;

/** Extracts the balancing key of a request, or null when the request has none. */
export type KeyExtractor = (req: RouteRequest) => string | null;

/**
 * Picks a server. `exclude` holds servers already tried for this request (retries). Returns null
 * when no server is available. Implementations are deterministic for keyed policies.
 */
export interface Balancer {
  readonly policy: PolicyName;
  pick(key: string | null, exclude?: ReadonlySet<ServerState>): ServerState | null;
}

/** Why a request was refused before routing. */
export type DenyReason = 'replication' | 'admin';

/** The compiled form of one routes.yaml route. */
export interface CompiledRoute {
  readonly index: number;
  readonly name: string;
  readonly config: RouteConfig;
  readonly upstream: string;
  readonly balance: Balance;
  readonly key: KeySpec | null;
  readonly extractKey: KeyExtractor | null;
  readonly balancer: Balancer;
  readonly servers: readonly ServerState[];
}

/** The routing decision for one request. */
export interface Decision {
  /** Matched route, or null when the default upstream serves the request (or it was denied). */
  readonly route: CompiledRoute | null;
  readonly upstream: string;
  readonly policy: PolicyName;
  readonly key: string | null;
  readonly balancer: Balancer;
  /** Chosen server; null when none is available (the data plane answers 503). */
  readonly server: ServerState | null;
  readonly denied?: DenyReason;
}
