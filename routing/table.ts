/**
 * The compiled routing table: one immutable object per routes.yaml that makes the per-request
 * decision (DESIGN.md "The routing model"; STYLE.md 3: a reload compiles a new table and swaps
 * one reference). `decide` applies the built-in denials (routing/security.ts), then ordered
 * first-match (routing/compile.ts, equal to routing/sequential.ts on every request), then the
 * route's key extractor and balancer.
 */
import type { Balance, KeySpec, PolicyName, RoutesConfig, UpstreamConfig } from '../config/routes-schema.ts';
import { createBalancer } from './balancers/index.ts';
import { catalogueFor } from './catalogue/index.ts';
import { CidrSet } from './cidr.ts';
import { compilePaths, type CompileOptions, type PathMatcher } from './compile.ts';
import { createKeyExtractor, keyHeaderNames } from './keys.ts';
import { denyReason, type ListenerKind } from './security.ts';
import type { Balancer, CompiledRoute, Decision, KeyExtractor, RouteRequest, ServerState, ServerStateStore } from './types.ts';

export type { ListenerKind } from './security.ts';

/** One upstream pool of a compiled table. */
export interface UpstreamRuntime {
  readonly name: string;
  readonly servers: readonly ServerState[];
  readonly balancer: Balancer;
  readonly config: UpstreamConfig;
}

/** The compiled, immutable form of a routes.yaml. */
export interface RoutingTable {
  readonly config: RoutesConfig;
  readonly routes: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  readonly defaultUpstream: UpstreamRuntime;
  /** First route whose path/method/query/header conditions hold, or null (= default upstream). */
  match(req: RouteRequest): CompiledRoute | null;
  /** Security denials, then match, then key extraction and balancer pick. */
  decide(req: RouteRequest, listener?: ListenerKind): Decision;
  /** Path-matcher statistics (regexes, RegExp fallbacks, DFA states) for check/bench. */
  readonly matcher: Pick<PathMatcher, 'regexCount' | 'fallbackCount' | 'dfaStats'>;
  /** Lower-case names of every request header decide() may read (keys, conditions, denials). */
  readonly headerNames: ReadonlySet<string>;
}

/** Options of compileTable. */
export interface TableOptions extends CompileOptions {
  /** Where ServerState objects come from; pass the previous table's store on reload. */
  readonly store?: ServerStateStore;
}

/** A ServerStateStore that can be told which servers the table in use has. */
export type ServerStore = ServerStateStore & {
  /** Keeps only `current` (the servers of the table now in use): others are forgotten. */
  retain(current: Iterable<ServerState>): void;
};

/**
 * A ServerStateStore keyed by upstream/name/url: a reload gets the same ServerState for an
 * unchanged server, so health and in-flight counts survive it. When only its weight or `down`
 * changed, a new state object is made (those fields are read-only, and the old table's balancers
 * still hold the old object) that starts with the old availability; the gateway then moves the
 * server's health record (gateway/health.ts HealthMonitor.sync) to it, and /status counts by
 * upstream/name/url too. After a table is in use, `retain` forgets servers it no longer has.
 */
/**
 * What identifies a server across reloads: its upstream, name and url. The store, the health
 * monitor (gateway/health.ts) and the /status counts (gateway/metrics.ts) all key on it.
 */
export function serverIdentity(s: Pick<ServerState, 'upstream' | 'name' | 'url'>): string {
  return JSON.stringify([s.upstream, s.name, s.url]);
}

export function defaultServerStore(): ServerStore {
  let known = new Map<string, ServerState>();
  const store: ServerStateStore = (upstream, name, url, weight, down) => {
    const key = serverIdentity({ upstream, name, url });
    const old = known.get(key);
    if (old && old.weight === weight && old.down === down) return old;
    const s: ServerState = { upstream, name, url, weight, down, available: old?.available ?? true, inflight: 0 };
    known.set(key, s);
    return s;
  };
  const retain = (current: Iterable<ServerState>): void => {
    const kept = new Map<string, ServerState>();
    for (const s of current) kept.set(serverIdentity(s), s);
    known = kept;
  };
  return Object.assign(store, { retain });
}

/** How a route (or the default upstream) picks its server. */
interface Picker {
  readonly balance: Balance;
  readonly key: KeySpec | null;
  readonly extractKey: KeyExtractor | null;
  readonly balancer: Balancer;
}

/** decide's view of a route (route null: the default upstream). */
interface RoutePicker {
  readonly route: CompiledRoute | null;
  readonly upstream: string;
  readonly policy: PolicyName;
  readonly extractKey: KeyExtractor | null;
  readonly balancer: Balancer;
}

function keyOf(balance: Balance): KeySpec | null {
  return 'key' in balance ? balance.key : null;
}

/** Every header name decide() may read for `config` (the data plane keeps only these per request). */
function headerNamesOf(config: RoutesConfig): ReadonlySet<string> {
  // Denials read X-Forwarded-For (admin allow list behind trusted proxies).
  const names = new Set<string>(['authorization', 'x-forwarded-for']);
  for (const up of Object.values(config.upstreams)) for (const n of keyHeaderNames(keyOf(up.balance))) names.add(n);
  for (const r of config.routes) {
    if (r.balance) for (const n of keyHeaderNames(keyOf(r.balance))) names.add(n);
    for (const n of Object.keys(r.match.headers ?? {})) names.add(n.toLowerCase());
  }
  return names;
}

/** Compiles `config` (already validated by config/routes.ts) into an immutable table. */
export function compileTable(config: RoutesConfig, opts: TableOptions = {}): RoutingTable {
  const store = opts.store ?? defaultServerStore();
  const trustedProxies = config.trusted_proxies;
  const upstreams = new Map<string, UpstreamRuntime>();
  for (const [name, up] of Object.entries(config.upstreams)) {
    // Not frozen: balancers index this array on every pick, and V8's optimised code reads a
    // frozen array's elements through the generic keyed-load stub (seen in --print-opt-code).
    const servers: readonly ServerState[] = up.servers.map((s) => store(name, s.name, s.url, s.weight, s.down));
    upstreams.set(name, Object.freeze({ name, servers, balancer: createBalancer(up.balance, servers), config: up }));
  }
  const upstream = (name: string, what: string): UpstreamRuntime => {
    const u = upstreams.get(name);
    if (!u) throw new Error(`${what}: unknown upstream '${name}'`);
    return u;
  };
  const picker = (u: UpstreamRuntime, override: Balance | undefined): Picker => {
    const balance = override ?? u.config.balance;
    const key = keyOf(balance);
    const extractKey = key === null ? null : createKeyExtractor(key, { trustedProxies, nginxCompat: balance.policy === 'nginx_hash' });
    return { balance, key, extractKey, balancer: override ? createBalancer(override, u.servers) : u.balancer };
  };
  const routes = config.routes.map((r, index): CompiledRoute => {
    const u = upstream(r.upstream, `route '${r.name}'`);
    const p = picker(u, r.balance);
    return Object.freeze({ index, name: r.name, config: r, upstream: u.name, balance: p.balance, key: p.key, extractKey: p.extractKey, balancer: p.balancer, servers: u.servers });
  });
  const defaultUpstream = upstream(config.default_upstream, 'default_upstream');
  const fallback = picker(defaultUpstream, undefined);
  const paths = compilePaths(config, catalogueFor(config.synapse_version), opts);
  const adminAllow = new CidrSet(config.access.admin_allow);
  const trusted = new CidrSet(trustedProxies);
  // What decide needs per route, in one object shape for routes and the default upstream alike.
  const pickers: RoutePicker[] = routes.map((r) => ({ route: r, upstream: r.upstream, policy: r.balance.policy, extractKey: r.extractKey, balancer: r.balancer }));
  const fallbackRoute: RoutePicker = { route: null, upstream: defaultUpstream.name, policy: fallback.balance.policy, extractKey: fallback.extractKey, balancer: fallback.balancer };

  const match = (req: RouteRequest): CompiledRoute | null => {
    const i = paths.match(req);
    return i < 0 ? null : routes[i]!;
  };
  const decide = (req: RouteRequest, listener: ListenerKind = 'public'): Decision => {
    const denied = denyReason(req, listener, adminAllow, trusted);
    if (denied !== null) return deniedDecision(defaultUpstream.name, fallback, denied);
    const i = paths.match(req);
    const p = i < 0 ? fallbackRoute : pickers[i]!;
    const key = p.extractKey === null ? null : p.extractKey(req);
    // One object shape for every decision (denied included), so the data plane's reads of it stay monomorphic.
    return { route: p.route, upstream: p.upstream, policy: p.policy, key, balancer: p.balancer, server: p.balancer.pick(key), denied: undefined };
  };
  return Object.freeze({
    config,
    routes: Object.freeze([...routes]), // a frozen copy: match() indexes the unfrozen one
    upstreams: upstreams as ReadonlyMap<string, UpstreamRuntime>,
    defaultUpstream,
    match,
    decide,
    matcher: { regexCount: paths.regexCount, fallbackCount: paths.fallbackCount, dfaStats: paths.dfaStats },
    headerNames: headerNamesOf(config),
  });
}

function deniedDecision(upstream: string, p: Picker, denied: 'replication' | 'admin'): Decision {
  const policy: PolicyName = p.balance.policy;
  return { route: null, upstream, policy, key: null, balancer: p.balancer, server: null, denied };
}
