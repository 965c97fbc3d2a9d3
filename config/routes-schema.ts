/**
 * The routes.yaml schema. One zod schema gives both validation and the TypeScript types
 * (`RoutesConfig` is what every other module sees; nothing downstream reads raw YAML).
 * Semantic checks that need the whole file (unknown upstream, duplicate names, invalid regex,
 * unknown catalogue group, a server url that is a listener) live in config/routes-checks.ts.
 */
import { z } from 'zod';

/** Durations are written `250ms`, `5s`, `2m`, `1h`, or a number of milliseconds. */
export const Duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'expected a duration such as 500ms, 5s, 2m')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    return Math.round(Number(m[1]) * unit);
  });

/** Byte sizes: `64k`, `50M`, `1G` (powers of 1024), or a plain number of bytes. */
export const ByteSize = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+[kKmMgG]?$/, 'expected a size such as 64k, 50M, 1G')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const m = /^(\d+)([kKmMgG]?)$/.exec(v)!;
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
    return Number(m[1]) * mult;
  });

/** An IPv4 or IPv6 CIDR (a bare address means a single host). */
export const Cidr = z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'expected an address or CIDR such as 10.0.0.0/8 or ::1');

/** Which request attribute a balancer hashes on (routing/keys.ts implements each). */
export const KeySpec = z.union([
  z.enum(['token_user', 'room_id', 'source_ip', 'federation_origin', 'path']),
  z.strictObject({ header: z.string().min(1) }),
  z.strictObject({ query: z.string().min(1) }),
  z.strictObject({ cookie: z.string().min(1) }),
]);
export type KeySpec = z.output<typeof KeySpec>;

/** What a keyed policy does when the request has no key (nginx: round robin on an empty key). */
export const Fallback = z.enum(['round_robin', 'least_outstanding']);

/** How a server is picked within an upstream: a discriminated union, one member per balancer. */
export const Balance = z.discriminatedUnion('policy', [
  z.strictObject({ policy: z.literal('round_robin') }),
  z.strictObject({ policy: z.literal('least_outstanding') }),
  z.strictObject({
    policy: z.literal('consistent_hash'),
    key: KeySpec,
    fallback: Fallback.default('round_robin'),
    /** Bounded load: no server takes more than c × the mean in-flight count (c > 1). */
    bounded_load: z.number().gt(1).optional(),
  }),
  z.strictObject({
    /** Reproduces nginx `hash $key consistent` exactly, for cut-overs from nginx. */
    policy: z.literal('nginx_hash'),
    key: KeySpec,
    fallback: Fallback.default('round_robin'),
  }),
  z.strictObject({
    /** Synapse's event-persister sharding: sha256(key) little-endian mod N over the server list. */
    policy: z.literal('synapse_shard'),
    key: KeySpec.default('room_id'),
    fallback: Fallback.default('round_robin'),
  }),
]);
export type Balance = z.output<typeof Balance>;
export type PolicyName = Balance['policy'];

export const Server = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'server names use letters, digits, _ . : -'),
  /**
   * `http://host:port` or `unix:/path/to/socket`, the only upstreams gateway/pool.ts connects to
   * (no TLS client). The routes.yaml loader reports another `scheme://` with a hint
   * (routes-checks.ts unsupportedScheme); one that does not parse is a semantic error there too.
   */
  url: z.string().regex(/^(http:\/\/[^/\s]+\/?|unix:\/\S+)$/, 'expected http://host:port or unix:/path'),
  weight: z.number().int().min(1).max(100).default(1),
  /** Administratively down: kept on hash rings (as nginx does) but never picked. */
  down: z.boolean().default(false),
});
export type ServerConfig = z.output<typeof Server>;

export const HealthCheck = z.strictObject({
  enabled: z.boolean().default(true),
  path: z.string().startsWith('/').default('/health'),
  interval: Duration.default(5000),
  timeout: Duration.default(2000),
  /** Consecutive successes before a server is admitted again. */
  rise: z.number().int().min(1).default(1),
  /** Consecutive failures before a server is marked down. */
  fall: z.number().int().min(1).default(2),
});

export const PassiveHealth = z.strictObject({
  enabled: z.boolean().default(true),
  /** Consecutive connect errors or 5xx answers within `window` that eject a server. */
  failures: z.number().int().min(1).default(3),
  window: Duration.default(10_000),
  /** How long an ejected server stays out before it is tried again (unless an active check admits it sooner). */
  eject_for: Duration.default(5000),
});

export const Upstream = z.strictObject({
  servers: z.array(Server).min(1, 'an upstream needs at least one server'),
  balance: Balance.default({ policy: 'round_robin' }),
  health_check: HealthCheck.default({ enabled: true, path: '/health', interval: 5000, timeout: 2000, rise: 1, fall: 2 }),
  passive_health: PassiveHealth.default({ enabled: true, failures: 3, window: 10_000, eject_for: 5000 }),
  /** Idle keep-alive connections kept per server. */
  keepalive: z.number().int().min(0).default(128),
});
export type UpstreamConfig = z.output<typeof Upstream>;

/** A condition on one query parameter or header. */
export const ValueCondition = z.union([
  z.enum(['present', 'absent', 'absent_or_empty', 'non_empty']),
  z.strictObject({ equals: z.string() }),
  z.strictObject({ matches: z.string() }),
]);
export type ValueCondition = z.output<typeof ValueCondition>;

export const HttpMethod = z.string().regex(/^[A-Z]+$/, 'methods are upper-case, e.g. GET');

export const Match = z.strictObject({
  /** Catalogue groups (routing/catalogue): every endpoint regex of each group. */
  groups: z.array(z.string()).optional(),
  /** Explicit path regexes (ECMAScript), matched against the raw request path without query. */
  paths: z.array(z.string()).optional(),
  methods: z.array(HttpMethod).optional(),
  query: z.record(z.string(), ValueCondition).optional(),
  headers: z.record(z.string(), ValueCondition).optional(),
});
export type MatchConfig = z.output<typeof Match>;

export const Timeouts = z.strictObject({
  connect: Duration.optional(),
  /** Time to the first response byte. For long polls the request's own `timeout` is added. */
  first_byte: Duration.optional(),
  /** Longest silence on an open exchange. */
  idle: Duration.optional(),
});

export const Limits = z.strictObject({
  max_body: ByteSize.optional(),
  max_header: ByteSize.optional(),
});

export const Route = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'route names use letters, digits, _ . -'),
  match: Match,
  upstream: z.string(),
  /** Overrides the upstream's balance policy for this route. */
  balance: Balance.optional(),
  timeouts: Timeouts.optional(),
  limits: Limits.optional(),
  /** Long poll: the `timeout` query parameter (ms) extends the first-byte timeout. */
  long_poll: z.boolean().default(false),
  comment: z.string().optional(),
});
export type RouteConfig = z.output<typeof Route>;

export const Listener = z.strictObject({
  name: z.string(),
  kind: z.enum(['public', 'admin']),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
});
export type ListenerConfig = z.output<typeof Listener>;

export const RoutesFile = z.strictObject({
  /** Which Synapse release's endpoint catalogue the groups refer to; default the newest. */
  synapse_version: z.string().regex(/^\d+\.\d+$/, 'expected a Synapse version such as 1.92').optional(),
  listeners: z.array(Listener).default([{ name: 'public', kind: 'public', host: '127.0.0.1', port: 8008 }, { name: 'admin', kind: 'admin', host: '127.0.0.1', port: 9000 }]),
  upstreams: z.record(z.string(), Upstream),
  routes: z.array(Route).default([]),
  default_upstream: z.string().default('main'),
  /** Peers whose X-Forwarded-For is believed (CIDRs). */
  trusted_proxies: z.array(Cidr).default([]),
  access: z.strictObject({
    /** `/_synapse/admin/` is denied on public listeners unless the client address is in this list. */
    admin_allow: z.array(Cidr).default([]),
  }).default({ admin_allow: [] }),
  timeouts: z.strictObject({ connect: Duration.default(5000), first_byte: Duration.default(60_000), idle: Duration.default(120_000) })
    .default({ connect: 5000, first_byte: 60_000, idle: 120_000 }),
  limits: z.strictObject({ max_body: ByteSize.default(100 * 1024 ** 2), max_header: ByteSize.default(16 * 1024) })
    .default({ max_body: 100 * 1024 ** 2, max_header: 16 * 1024 }),
  /** Name the serving server in an `X-Switchyard-Server` response header (off: it reveals topology). */
  expose_server_header: z.boolean().default(false),
  /** Replay requests that a worker answers M_UNRECOGNIZED to the default upstream once. */
  drift_replay: z.boolean().default(true),
});
export type RoutesConfig = z.output<typeof RoutesFile>;
