/**
 * The planner: turns a read deployment with inferred roles into ordered routes and upstreams,
 * following workers.md ("Load balancing", "Stream writers", the endpoint lists) and the routing
 * model of DESIGN.md. First match wins, so the order is: stream writers (their endpoints overlap
 * the generic account_data/receipts/presence lists), SSO, media, the initial-sync split before
 * sync, federation, room-sharded groups, then the client groups.
 */
import { catalogueFor, type Catalogue } from '../../routing/catalogue/index.ts';
import { servesPublic, listenerFor } from './listeners.ts';
import { entriesOf, genericMatch, serverName, present, withHost, type BalanceSpec, type ImportOptions, type ImportPlan, type KeyName, type MatchSpec, type PlannedRoute, type PlannedUpstream } from './model.ts';
import { computePools, type PoolMember, type Pools } from './pools.ts';
import { checkGatewayAddresses } from './conflicts.ts';
import { checkInstanceMap, planStreams, type StreamPlan } from './streams.ts';
import { SynapseConfigError, type Deployment, type HttpListener, type ImportWarning } from './types.ts';

export { serverName } from './model.ts';


/** Mutable builder state of one plan. */
interface Builder {
  readonly cat: Catalogue;
  readonly opts: ImportOptions;
  readonly upstreams: PlannedUpstream[];
  readonly routes: PlannedRoute[];
  readonly notes: string[];
}

function hashed(opts: ImportOptions, key: KeyName): BalanceSpec {
  return { policy: opts.nginxCompatible ? 'nginx_hash' : 'consistent_hash', key };
}

/** Adds an upstream once (pools are shared by several routes). */
function upstream(b: Builder, name: string, pool: readonly PoolMember[], balance: BalanceSpec, notes: string[]): string {
  if (!b.upstreams.some((u) => u.name === name)) {
    const servers = pool.map((m) => ({ name: serverName(m.process.name), url: withHost(m.url, b.opts.upstreamHost) }));
    b.upstreams.push({ name, servers, balance, notes });
  }
  return name;
}

function route(b: Builder, r: PlannedRoute | null): void {
  if (r) b.routes.push(r);
}

function groupsRoute(b: Builder, name: string, groups: readonly string[], target: string, comment: string, notes: string[], extra: Partial<PlannedRoute> = {}): PlannedRoute | null {
  const g = present(b.cat, groups);
  if (g.length === 0) return null;
  return { name, match: { groups: g }, upstream: target, comment, notes, ...extra };
}

function planSso(b: Builder, pools: Pools, warnings: ImportWarning[]): void {
  if (pools.sso.length === 0) return;
  if (pools.sso.length > 1) {
    warnings.push({ code: 'sso_not_single', message: `several workers have the sso role (${pools.sso.map((m) => m.process.name).join(', ')}); SSO is pinned to the first, ${pools.sso[0]!.process.name} (workers.md: "Ensure that all SSO logins go to a single process")` });
  }
  const u = upstream(b, 'sso', pools.sso.slice(0, 1), { policy: 'round_robin' }, ['SSO logins keep their session in one process\'s memory: exactly one server (workers.md "SSO").']);
  route(b, groupsRoute(b, 'sso', ['sso', 'sso_oidc', 'sso_saml', 'sso_cas'], u, 'SSO pinned to one process', ['Every SSO provider\'s endpoints to the one SSO process.']));
}

function planMedia(b: Builder, pools: Pools): void {
  if (pools.media.length === 0) return;
  const u = upstream(b, 'media', pools.media, { policy: 'round_robin' }, ['Media repository workers (synapse.app.media_repository, or a `media` listener resource).']);
  route(b, groupsRoute(b, 'media', ['media', 'media_admin'], u, 'media repository', [
    'Media on every listener: workers.md says /_matrix/media/ must be routed for client AND federation traffic;',
    'the gateway has one routing table for all public listeners, so this route covers both. The media admin',
    'API (/_synapse/admin/...) is still denied on public listeners unless access.admin_allow permits it.',
  ]));
}

function syncPaths(b: Builder, wantInitial: boolean): string[] {
  return entriesOf(b.cat, 'sync').map((e) => e.regex).filter((r) => r.includes('initialSync') === wantInitial);
}

function planSync(b: Builder, pools: Pools): void {
  const sync = pools.sync.length > 0 ? upstream(b, 'sync', pools.sync, hashed(b.opts, 'token_user'), [
    'Sync workers: a user\'s syncs keep reaching one worker, whose caches hold that user\'s rooms (workers.md "Load balancing":',
    'hash on the access-token user, the docs\' $mxid_localpart).',
  ]) : null;
  if (pools.initialSync.length > 0) {
    const init = upstream(b, 'initial_sync', pools.initialSync, hashed(b.opts, 'token_user'), ['Initial-sync workers: syncs without `since`, full_state syncs and /initialSync (workers.md "Load balancing").']);
    const sPaths = syncPaths(b, false).filter((r) => r.endsWith('/sync$'));
    const why = ['Initial syncs are expensive: isolating them keeps them from slowing everyone\'s incremental syncs.'];
    route(b, { name: 'sync-initial', match: { paths: sPaths, query: { since: 'absent_or_empty' } }, upstream: init, longPoll: true, comment: '/sync without since', notes: why });
    route(b, { name: 'sync-full-state', match: { paths: sPaths, query: { full_state: { equals: 'true' } } }, upstream: init, longPoll: true, comment: '/sync?full_state=true', notes: [] });
    const legacy = syncPaths(b, true);
    if (legacy.length > 0) route(b, { name: 'sync-initialsync', match: { paths: legacy }, upstream: init, comment: '/initialSync', notes: [] });
  }
  if (sync === null) return;
  const note = pools.initialSync.length > 0 ? [] : ['No initial-sync pool: initial syncs go to the sync pool too.'];
  route(b, groupsRoute(b, 'sync', ['sync'], sync, 'sync family, hashed on the token user', note, { longPoll: true }));
  route(b, groupsRoute(b, 'sliding-sync', ['sliding_sync'], sync, 'sliding sync (served by sync workers, not in the docs)', [], { longPoll: true }));
}

function planFederation(b: Builder, pools: Pools): void {
  if (pools.federationInbound.length > 0) {
    const key = b.opts.federationKey;
    const u = upstream(b, 'federation_inbound', pools.federationInbound, hashed(b.opts, key), [
      `Inbound federation transactions, sticky per ${key === 'source_ip' ? 'source IP (workers.md: "balanced by source IP")' : 'X-Matrix origin (one remote server may send from many addresses)'}.`,
    ]);
    route(b, groupsRoute(b, 'federation-inbound', ['federation_transaction'], u, 'inbound federation /send/', []));
  }
  if (pools.federationReader.length > 0) {
    const u = upstream(b, 'federation_reader', pools.federationReader, { policy: 'round_robin' }, ['Other federation requests: "can be balanced via simple round robin" (workers.md).']);
    route(b, groupsRoute(b, 'federation', ['federation'], u, 'federation requests', []));
  }
}

/** Event sending: event creators by room hash; else the persisters by Synapse's own sharding. */
function planEvents(b: Builder, dep: Deployment, pools: Pools): void {
  const why = ['Event sending sharded by room ID (workers.md: "balanced by the room ID in the URI").'];
  if (pools.eventCreator.length > 0) {
    const u = upstream(b, 'event_creator', pools.eventCreator, hashed(b.opts, 'room_id'), ['Event creators.']);
    route(b, groupsRoute(b, 'event-sending', ['event_sending'], u, 'event sending by room', why));
    return;
  }
  const persisters = dep.shared.streamWriters.events ?? [];
  const byName = new Map([['main', dep.main], ...dep.workers.map((w) => [w.name, w] as const)]);
  const procs = persisters.map((n) => byName.get(n));
  const reachable = procs.every((p) => p !== undefined && listenerFor(p.listeners, 'client'));
  if (persisters.length > 0 && persisters.some((n) => n !== 'main') && reachable) {
    const pool = procs.map((p) => ({ process: p!, url: listenerFor(p!.listeners, 'client')!.url }));
    const u = upstream(b, 'event_persisters', pool, { policy: 'synapse_shard', key: 'room_id' }, [
      'The event persisters in stream_writers.events order: synapse_shard picks the persister that owns the room',
      '(sha256 of the room ID, little-endian, modulo the writer count), so a send skips the replication hop.',
    ]);
    route(b, groupsRoute(b, 'event-sending', ['event_sending'], u, 'event sending to the room\'s persister', why));
    return;
  }
  if (persisters.length > 0 && !reachable) b.notes.push('stream_writers.events: not every persister has a client listener, so event sending goes to the client pool by room hash instead of synapse_shard');
  if (pools.genericClient.length > 0) {
    const u = clientUpstream(b, pools);
    route(b, groupsRoute(b, 'event-sending', ['event_sending'], u, 'event sending by room', why, { balance: hashed(b.opts, 'room_id') }));
  }
}

function clientUpstream(b: Builder, pools: Pools): string {
  return upstream(b, 'client', pools.client, { policy: 'round_robin' }, ['Client API workers (client_reader / generic workers), round robin.']);
}

function planClient(b: Builder, pools: Pools, streams: StreamPlan): void {
  if (pools.userDir.length > 0) {
    const u = upstream(b, 'user_dir', pools.userDir, { policy: 'round_robin' }, ['User directory worker(s).']);
    route(b, groupsRoute(b, 'user-directory', ['user_directory'], u, 'user directory search', []));
  }
  if (pools.client.length === 0) return;
  const u = clientUpstream(b, pools);
  route(b, groupsRoute(b, 'pagination', ['pagination'], u, '/messages by room', ['All pagination for a room on one worker (workers.md "Pagination requests").'], { balance: hashed(b.opts, 'room_id') }));
  route(b, groupsRoute(b, 'client', ['client', 'encryption', 'registration'], u, 'client API reads', []));
  if (pools.userDir.length === 0) route(b, groupsRoute(b, 'user-directory', ['user_directory'], u, 'user directory search', []));
  for (const [stream, group, methods] of [['account_data', 'account_data', null], ['receipts', 'receipts', null], ['presence', 'presence', null], ['push_rules', 'push_rules', ['GET']]] as const) {
    if (streams.routed.has(stream)) continue;
    const m: MatchSpec | null = genericMatch(b.cat, group);
    if (!m) continue;
    const match = methods && !m.methods ? { ...m, methods: [...methods] } : m;
    route(b, { name: `${group.replaceAll('_', '-')}-generic`, match, upstream: u, comment: `${group} on generic workers`, notes: [] });
  }
  route(b, groupsRoute(b, 'delayed-events', ['delayed_events'], u, 'delayed events', []));
  route(b, groupsRoute(b, 'admin-api', ['admin_api'], u, 'admin API on generic workers', [
    'Admin endpoints generic workers serve; still denied on the public listener unless access.admin_allow permits.',
  ]));
}

/**
 * Main's federation and key endpoints when main serves them on another listener than the one
 * default_upstream uses. Synapse mounts `/_matrix/federation/` only on a `federation` listener and
 * `/_matrix/key/` only on a `keys` or `federation` listener (synapse/app/homeserver.py,
 * _configure_named_resource), so with separate client and federation listeners (8008 / 8448) the
 * requests no worker route claims must reach the federation listener, not the client one. Added
 * last: worker routes match first, this catches the rest before the fallback to default_upstream.
 */
function planMainFederation(b: Builder, dep: Deployment, mainUrl: string): void {
  const fed = listenerFor(dep.main.listeners, 'federation');
  const keys = dep.main.listeners.find((l) => l.resources.has('keys') || l.resources.has('federation'));
  const targets = new Map<string, { listener: HttpListener; prefixes: string[] }>();
  for (const [prefix, l] of [['federation', fed], ['key', keys]] as const) {
    if (!l || l.url === mainUrl) continue;
    const t = targets.get(l.url) ?? { listener: l, prefixes: [] };
    t.prefixes.push(prefix);
    targets.set(l.url, t);
  }
  for (const { listener, prefixes } of targets.values()) {
    const name = prefixes.includes('federation') ? 'main_federation' : 'main_keys';
    const what = prefixes.map((p) => `/_matrix/${p}/`).join(' and ');
    const at = `${listener.file}:${listener.line}`;
    const u = upstream(b, name, [{ process: dep.main, url: listener.url }], { policy: 'round_robin' },
      [`The main process's ${prefixes.includes('federation') ? 'federation' : 'keys'} listener (${at}): main serves ${what} there, not on the listener default_upstream uses.`]);
    const re = prefixes.length > 1 ? `^/_matrix/(${prefixes.join('|')})/` : `^/_matrix/${prefixes[0]}/`;
    route(b, {
      name: name.replaceAll('_', '-'), match: { paths: [re] }, upstream: u, comment: `${what} not claimed by a worker: main's ${prefixes.includes('federation') ? 'federation' : 'keys'} listener`,
      notes: [
        `Main serves ${what} on its own listener (${at}), separate from its client listener (default_upstream):`,
        'what no worker route above claims (e.g. /_matrix/key/v2/server, /_matrix/federation/v1/version) goes there.',
      ],
    });
  }
}

/**
 * Warns about each listener the plan sends traffic to that lacks `x_forwarded: true`: Synapse then
 * takes the gateway's address for every client's (synapse/http/site.py reads X-Forwarded-For only
 * there), so per-IP rate limits (rc_login, rc_registration...) throttle all users together and
 * admin APIs and logs show the gateway as every client.
 */
function warnWithoutXForwarded(dep: Deployment, b: Builder, warnings: ImportWarning[]): void {
  const used = new Set(b.upstreams.flatMap((u) => u.servers.map((s) => s.url)));
  for (const p of [dep.main, ...dep.workers]) {
    for (const l of p.listeners) {
      if (l.xForwarded || !used.has(withHost(l.url, b.opts.upstreamHost))) continue;
      warnings.push({
        code: 'no_x_forwarded', file: l.file, line: l.line,
        message: `${p.name}'s listener ${l.url} gets requests through the gateway but does not set x_forwarded: true, so Synapse takes the gateway's address ` +
          "for every client's (per-IP rate limits such as rc_login then throttle all users together) — set x_forwarded: true on it",
      });
    }
  }
}

/** Lists processes that get no route, with their roles. */
function unrouted(dep: Deployment, b: Builder): ImportPlan['unrouted'] {
  const used = new Set(b.upstreams.flatMap((u) => u.servers.map((s) => s.name)));
  return dep.workers.filter((w) => !used.has(serverName(w.name))).map((w) => {
    const byRole = new Map<string, string[]>();
    for (const r of w.roles) byRole.set(r.role, [...(byRole.get(r.role) ?? []), r.because]);
    const roles = [...byRole].map(([role, why]) => `${role} (${why.join('; ')})`).join(', ') || 'no role';
    const why = servesPublic(w.listeners) ? 'no route needs it' : 'no HTTP client/federation/media listener';
    return { name: w.name, description: `${w.app}: ${roles} — ${why}` };
  });
}

/**
 * Plans the routes of a deployment whose roles are inferred. Adds warnings to `dep.warnings`.
 * Throws for an unknown synapse version (catalogueFor's error lists the known ones).
 */
export function planImport(dep: Deployment, opts: ImportOptions): ImportPlan {
  const cat = catalogueFor(opts.synapseVersion);
  const warnings = dep.warnings;
  const b: Builder = { cat, opts, upstreams: [], routes: [], notes: [] };
  const mainListener = listenerFor(dep.main.listeners, 'client') ?? dep.main.listeners.find((l) => servesPublic([l]));
  const mainTls = dep.main.tlsListeners.find((l) => servesPublic([l]));
  if (!mainListener && mainTls) {
    throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${mainTls.file}:${mainTls.line}: the main process serves client/federation only on a tls: true listener (${mainTls.url}), ` +
      'which the gateway cannot connect to (plain http:// or unix: only); add a plain http listener for the gateway, bound to loopback or a private address, and terminate TLS in front of the gateway');
  }
  if (!mainListener) warnings.push({ code: 'no_http_listener', file: dep.main.file, message: 'the main process has no HTTP listener serving client/federation; assuming http://127.0.0.1:8008' });
  const mainUrl = mainListener?.url ?? 'http://127.0.0.1:8008';
  upstream(b, 'main', [{ process: dep.main, url: mainUrl }], { policy: 'round_robin' }, ['The main process: everything no route claims (default_upstream).']);
  checkInstanceMap(dep, warnings);
  const streams = planStreams(dep, cat, warnings, opts.upstreamHost);
  b.upstreams.push(...streams.upstreams);
  b.routes.push(...streams.routes);
  b.notes.push(...streams.notes);
  const pools = computePools(dep, warnings);
  planSso(b, pools, warnings);
  planMedia(b, pools);
  planSync(b, pools);
  planFederation(b, pools);
  planEvents(b, dep, pools);
  planClient(b, pools, streams);
  planMainFederation(b, dep, mainUrl);
  checkGatewayAddresses(dep, b.upstreams, opts);
  warnWithoutXForwarded(dep, b, warnings);
  return { synapseVersion: cat.version, upstreams: b.upstreams, routes: b.routes, unrouted: unrouted(dep, b), notes: b.notes, warnings, listen: opts.listen, admin: opts.admin, adminAllow: opts.adminAllow ?? [] };
}
