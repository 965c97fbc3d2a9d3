/**
 * The homeserver configuration schema: Synapse's own keys (docs/usage/configuration/config_documentation.md
 * in Synapse), so one homeserver.yaml plus one file per worker serve both Synapse and this server,
 * and `gateway import-synapse` reads either alike. Keys Synapse has but this server does not use are
 * accepted (the loader names them once in the log); known keys are validated strictly.
 */
import { z } from 'zod';

/** A listener resource: Synapse's `resources: [{names: [...], compress}]`. */
const Resource = z.looseObject({
  names: z.array(z.enum(['client', 'federation', 'replication', 'metrics', 'health', 'media', 'keys', 'static', 'consent', 'openid'])),
  compress: z.boolean().optional(),
});

/** One HTTP (or metrics) listener (Synapse config: `listeners`). */
export const Listener = z.looseObject({
  port: z.number().int().min(0).max(65535),
  bind_addresses: z.array(z.string()).optional(),
  type: z.enum(['http', 'metrics', 'manhole']).default('http'),
  tls: z.boolean().optional(),
  x_forwarded: z.boolean().optional(),
  resources: z.array(Resource).default([]),
});
export type Listener = z.output<typeof Listener>;

/** `database`: only PostgreSQL (`psycopg2`) is supported; Synapse's sqlite3 is refused clearly. */
const Database = z.looseObject({
  name: z.literal('psycopg2', { message: "only PostgreSQL is supported: database.name must be 'psycopg2'" }),
  args: z.looseObject({
    user: z.string().optional(),
    password: z.string().optional(),
    database: z.string().optional(),
    dbname: z.string().optional(),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(5432),
    cp_min: z.number().int().min(1).default(5),
    cp_max: z.number().int().min(1).default(10),
  }),
});

/** `redis`: Synapse's replication Redis (docs/workers.md "Redis"). */
const Redis = z.looseObject({
  enabled: z.boolean().default(false),
  host: z.string().default('localhost'),
  port: z.number().int().min(1).max(65535).default(6379),
  password: z.string().optional(),
  dbid: z.number().int().min(0).optional(),
});

/** `instance_map` entry: where another process's replication listener is. */
const InstanceLocation = z.looseObject({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean().optional(),
});

const Writers = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));

/** `stream_writers` (docs/workers.md "Stream writers"). */
const StreamWriters = z.looseObject({
  events: Writers.optional(),
  typing: Writers.optional(),
  to_device: Writers.optional(),
  account_data: Writers.optional(),
  receipts: Writers.optional(),
  presence: Writers.optional(),
  device_lists: Writers.optional(),
  push_rules: Writers.optional(),
});

/** Sizes as Synapse writes them: `50M`, `10K`, or a number of bytes. */
const Size = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+[KMGkmg]?$/)]).transform((v) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+)([KMGkmg]?)$/.exec(v)!;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
});

/** The merged configuration (shared file + worker file). */
export const HomeserverConfig = z.looseObject({
  server_name: z.string().min(1),
  public_baseurl: z.string().url().optional(),
  listeners: z.array(Listener).default([]),
  database: Database,
  redis: Redis.default({ enabled: false, host: 'localhost', port: 6379 }),
  instance_map: z.record(z.string(), InstanceLocation).default({}),
  stream_writers: StreamWriters.default({}),
  worker_app: z.enum(['synapse.app.homeserver', 'synapse.app.generic_worker']).optional(),
  worker_name: z.string().min(1).optional(),
  worker_listeners: z.array(Listener).optional(),
  worker_replication_secret: z.string().optional(),
  registration_shared_secret: z.string().optional(),
  enable_registration: z.boolean().default(false),
  enable_registration_without_verification: z.boolean().default(false),
  max_upload_size: Size.default(50 * 1024 * 1024),
  run_background_tasks_on: z.string().optional(),
  rc_message: z.looseObject({ per_second: z.number().positive(), burst_count: z.number().positive() }).optional(),
  /** Not a Synapse key: the JSON body limit of client requests (Synapse hard-codes 10 MB-ish limits). */
  max_request_body_size: Size.optional(),
});
export type HomeserverConfig = z.output<typeof HomeserverConfig>;

/** The keys this server reads; any other top-level key is a Synapse key it ignores. */
export const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(HomeserverConfig.shape));
