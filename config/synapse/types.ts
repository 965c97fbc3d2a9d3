/**
 * The intermediate model of a Synapse worker deployment, as `gateway import-synapse` reads it from
 * Synapse's own configuration files (shared homeserver.yaml plus one file per worker; Synapse docs
 * "Scaling synapse via workers" and the configuration manual). The reader fills it, role inference
 * annotates it, and the planner turns it into routes.yaml.
 */

/** Listener resources a reverse proxy can route to (configuration manual, `listeners.resources`). */
export type Resource = 'client' | 'federation' | 'media' | 'keys' | 'replication' | 'metrics' | 'health' | 'openid' | 'consent' | 'static';

/** One `type: http` listener of a process. */
export interface HttpListener {
  /** `http://host:port`, `https://host:port` or `unix:/path`, as the gateway connects to it. */
  readonly url: string;
  readonly resources: ReadonlySet<string>;
  /** Addresses it binds to (Synapse's default is `::` and `0.0.0.0`); empty for a unix socket. */
  readonly bindAddresses: readonly string[];
  readonly unixPath?: string;
  /** `tls: true`: Synapse serves HTTPS here, which the gateway cannot use. */
  readonly tls?: boolean;
  /** `x_forwarded` as Synapse reads it: true when set truthy; a unix socket defaults to true when it does not set it. */
  readonly xForwarded: boolean;
  /** Where the listener is declared, for warnings. */
  readonly file: string;
  readonly line: number;
}

/**
 * One TCP socket a Synapse process binds: a listener of any type (`http`, `metrics`, `manhole`),
 * TLS or not. The gateway must not listen on any of them.
 */
export interface BoundListener {
  /** The listener's `type` (Synapse's default is `http`). */
  readonly type: string;
  readonly port: number;
  /** As Synapse resolves them: `bind_addresses` plus `bind_address`, else `::` and `0.0.0.0` (`0.0.0.0` for metrics). */
  readonly bindAddresses: readonly string[];
  readonly tls: boolean;
  readonly file: string;
  readonly line: number;
}

/**
 * What a process does for the reverse proxy. Routable roles need an HTTP listener serving
 * `client` (or `federation` for the federation roles, `media` for media).
 */
export type Role =
  | 'sync'
  | 'initial_sync'
  | 'client'
  | 'federation_inbound'
  | 'federation_reader'
  | 'event_creator'
  | 'media'
  | 'sso'
  | 'user_dir'
  | 'pusher'
  | 'federation_sender'
  | 'background'
  | 'appservice'
  | 'event_persister'
  | 'stream_writer';

/** Every role name accepted by `--role`. */
export const ROLES: readonly Role[] = Object.freeze([
  'sync', 'initial_sync', 'client', 'federation_inbound', 'federation_reader', 'event_creator', 'media', 'sso',
  'user_dir', 'pusher', 'federation_sender', 'background', 'appservice', 'event_persister', 'stream_writer',
] as const);

/** Where a role came from, so the generated file can say why a worker is in a pool. */
export type RoleSource = 'override' | 'worker_app' | 'worker_name' | 'shared_config' | 'listener';

/** One role of one process and the evidence for it. */
export interface RoleFact {
  readonly role: Role;
  readonly source: RoleSource;
  /** Human-readable evidence, e.g. `worker_app: synapse.app.synchrotron`. */
  readonly because: string;
}

/** One Synapse process: the main process or a worker. */
export interface SynapseProcess {
  /**
   * The name the generated file uses (server names, --role, messages): the instance name, unless
   * several workers share one, when a worker without worker_name is named after its file instead.
   */
  readonly name: string;
  /**
   * Synapse's instance name: `worker_name`, else `worker_app` (synapse/config/workers.py);
   * `main` for the main process. stream_writers, instance_map and the *_instances settings name it.
   */
  readonly instanceName: string;
  /** `worker_app`; `synapse.app.homeserver` for the main process. */
  readonly app: string;
  readonly isMain: boolean;
  /** The worker file (or the first shared config file for main). */
  readonly file: string;
  /** The plain HTTP listeners (http:// or unix:), the only ones the gateway can reach. */
  readonly listeners: readonly HttpListener[];
  /** `tls: true` listeners, left out of `listeners` (the gateway has no TLS client). */
  readonly tlsListeners: readonly HttpListener[];
  /** Every TCP listener of every type, TLS included: the addresses the gateway must not take. */
  readonly sockets: readonly BoundListener[];
  /**
   * Whether Synapse loads the media repository in this process (synapse/config/repository.py,
   * can_load_media_repo): false when the merged config (shared files, then the worker file) has
   * `enable_media_repo: false` and `worker_app` is not synapse.app.media_repository. Without it a
   * `media` listener resource is ignored ("A 'media' listener is configured but the media
   * repository is disabled. Ignoring.").
   */
  readonly mediaRepo: boolean;
  /** Filled by role inference. */
  roles: RoleFact[];
}

/** A streams' writer list from `stream_writers` (each value may be a string or a list in Synapse). */
export type StreamWriters = Readonly<Record<string, readonly string[]>>;

/** The worker-related keys of the shared configuration (configuration manual, "Workers"). */
export interface SharedSettings {
  readonly instanceMap: Readonly<Record<string, { host?: string; port?: number; path?: string }>>;
  readonly streamWriters: StreamWriters;
  readonly pusherInstances: readonly string[];
  readonly federationSenderInstances: readonly string[];
  readonly mediaInstanceRunningBackgroundJobs?: string;
  readonly runBackgroundTasksOn?: string;
  readonly updateUserDirectoryFromWorker?: string;
  readonly notifyAppservicesFromWorker?: string;
  readonly enableMediaRepo: boolean;
  /** Top-level keys the merged shared config sets. */
  readonly keys: ReadonlySet<string>;
  /** Shared config files, in the order given. */
  readonly files: readonly string[];
  /** file:line:column of a path in the merged shared config (in the last file that sets its top-level key). */
  readonly where: (path: readonly (string | number)[]) => { readonly file: string; readonly line: number; readonly column: number };
}

/** A finding worth telling the operator; warnings never stop the import. */
export interface ImportWarning {
  readonly code: ImportWarningCode;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
}

/** Stable warning codes (tests and tooling match on these, never on messages). */
export type ImportWarningCode =
  | 'writer_not_in_instance_map'
  | 'main_not_in_instance_map'
  | 'replication_exposed'
  | 'route_without_server'
  | 'unknown_writer'
  | 'no_http_listener'
  | 'sso_not_single'
  | 'missing_worker_name'
  | 'duplicate_instance_name'
  | 'unknown_stream'
  | 'skipped_file'
  | 'tls_listener'
  | 'media_repo_disabled'
  | 'no_x_forwarded';

/** A whole deployment as read from disk. */
export interface Deployment {
  readonly shared: SharedSettings;
  readonly main: SynapseProcess;
  readonly workers: readonly SynapseProcess[];
  readonly warnings: ImportWarning[];
}

/** Command-line `--role WORKER=ROLE[,ROLE...]` overrides. */
export type RoleOverrides = ReadonlyMap<string, readonly Role[]>;

/** Errors of the Synapse config reader (bad input, not a warning). */
export class SynapseConfigError extends Error {
  readonly code: 'SYNAPSE_CONFIG_INVALID' | 'SYNAPSE_IMPORT_USAGE';
  constructor(code: SynapseConfigError['code'], message: string) {
    super(message);
    this.name = 'SynapseConfigError';
    this.code = code;
  }
}
