/**
 * Reads a Synapse worker deployment from Synapse's own files: one or more shared config files
 * (merged top-level key by key, later files winning, as Synapse merges `--config-file`s) and one
 * file per worker (`worker_app`, `worker_name`, `worker_listeners`; workers.md "Worker
 * configuration"). Files are read as YAML 1.1, as PyYAML reads them for Synapse (./yaml.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { YamlSource } from '../yaml.ts';
import { readListeners, readSockets } from './listeners.ts';
import { loadSynapseYaml } from './yaml.ts';
import { SynapseConfigError, type Deployment, type ImportWarning, type SharedSettings, type SynapseProcess } from './types.ts';

type Raw = Record<string, unknown>;

/** Where to read a deployment from. */
export interface DeploymentFiles {
  /** Shared config files (homeserver.yaml first) or directories of *.yaml files, in order. */
  readonly configs: readonly string[];
  /** Worker files or directories of worker files (`*.yaml`, `*.yml`). */
  readonly workers: readonly string[];
}

function asObject(v: unknown, file: string): Raw {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${file}: expected a YAML mapping at the top level`);
  return v as Raw;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function optString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The value's kind in words, for messages. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'string' ? `the string '${v}'` : `a ${typeof v}`;
}

/**
 * Where a path of the merged shared config comes from: the last shared file that sets its
 * top-level key (the one whose value Synapse uses), at the key's value.
 */
function locator(sources: readonly YamlSource[]): SharedSettings['where'] {
  return (path) => {
    const key = String(path[0]);
    const src = [...sources].reverse().find((s) => typeof s.value === 'object' && s.value !== null && key in (s.value as Raw)) ?? sources[0];
    if (!src) return { file: 'homeserver.yaml', line: 1, column: 1 };
    return { file: src.file, ...src.positionOf(path) };
  };
}

/** A shared-config value that must be a mapping (null or absent is an empty one, as `or {}` in Synapse). */
function mappingAt(merged: Raw, key: string, where: SharedSettings['where'], expected: string): Raw {
  const v = merged[key];
  if (v === null || v === undefined) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return v as Raw;
  const at = where([key]);
  throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${at.file}:${at.line}:${at.column}: ${key}: expected a mapping of ${expected}, got ${kindOf(v)}`);
}

/** Streams Synapse allows exactly one writer for (synapse/config/workers.py, WorkerConfig.read_config). */
export const SINGLE_WRITER_STREAMS: readonly string[] = Object.freeze(['typing', 'to_device', 'account_data', 'presence', 'push_rules']);

/** The worker-related shared settings (configuration manual, "Workers" section). */
export function sharedSettings(merged: Raw, sources: readonly YamlSource[]): SharedSettings {
  const where = locator(sources);
  const writers: Record<string, string[]> = {};
  for (const [stream, names] of Object.entries(mappingAt(merged, 'stream_writers', where, 'stream name to writer(s)'))) {
    writers[stream] = strings(names);
    if (SINGLE_WRITER_STREAMS.includes(stream) && writers[stream].length > 1) {
      const at = where(['stream_writers', stream]);
      throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${at.file}:${at.line}:${at.column}: stream_writers.${stream} names ${writers[stream].length} writers ` +
        `(${writers[stream].join(', ')}), but only one process may write the ${stream} stream: Synapse refuses to start ("Must only specify one instance to handle ...", synapse/config/workers.py); keep one`);
    }
  }
  const instanceMap: Record<string, { host?: string; port?: number; path?: string }> = {};
  for (const [name, entry] of Object.entries(mappingAt(merged, 'instance_map', where, 'instance name to {host, port} or {path}'))) {
    const e = typeof entry === 'object' && entry !== null ? (entry as Raw) : {};
    instanceMap[name] = { host: optString(e.host), port: typeof e.port === 'number' ? e.port : undefined, path: optString(e.path) };
  }
  return {
    instanceMap,
    streamWriters: writers,
    pusherInstances: strings(merged.pusher_instances),
    federationSenderInstances: strings(merged.federation_sender_instances),
    mediaInstanceRunningBackgroundJobs: optString(merged.media_instance_running_background_jobs),
    runBackgroundTasksOn: optString(merged.run_background_tasks_on),
    updateUserDirectoryFromWorker: optString(merged.update_user_directory_from_worker),
    notifyAppservicesFromWorker: optString(merged.notify_appservices_from_worker),
    enableMediaRepo: merged.enable_media_repo !== false,
    files: sources.map((s) => s.file),
    where,
  };
}

/**
 * Expands `--config` paths as Synapse's `--config-path` does (synapse/config/_base.py,
 * find_config_files): a directory stands for its files whose names end in `.yaml` (not `.yml`;
 * subdirectories are skipped), in sorted order; anything else is a file.
 */
export function expandConfigPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      // Missing: the YAML reader reports it as "file not found".
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const files = readdirSync(p).map((f) => join(p, f)).filter((f) => f.endsWith('.yaml') && statSync(f).isFile()).sort();
    if (files.length === 0) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--config ${p}: the directory has no *.yaml files`);
    out.push(...files);
  }
  return out;
}

/** Expands directories into their YAML files (sorted, so output is stable). */
export function expandWorkerPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--workers ${p}: no such file or directory`);
    }
    if (!isDir) out.push(p);
    else out.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
  }
  return out;
}

/** True when a process's merged config sets worker_replication_secret or worker_replication_secret_path. */
function hasReplicationSecret(config: Raw): boolean {
  return (typeof config.worker_replication_secret === 'string' && config.worker_replication_secret !== '') ||
    (typeof config.worker_replication_secret_path === 'string' && config.worker_replication_secret_path !== '');
}

/** Synapse's can_load_media_repo for a process's merged config (synapse/config/repository.py). */
export function canLoadMediaRepo(config: Raw): boolean {
  return !(config.enable_media_repo === false && config.worker_app !== 'synapse.app.media_repository');
}

/**
 * Reads one worker file. `shared` is the merged shared config: Synapse starts a worker with the
 * shared files then the worker file (`-c homeserver.yaml -c worker.yaml`), merged key by key.
 */
function readWorker(src: YamlSource, shared: Raw, warnings: ImportWarning[]): SynapseProcess | null {
  const raw = asObject(src.value, src.file);
  const app = optString(raw.worker_app);
  let name = optString(raw.worker_name);
  if (app === undefined && name === undefined) {
    warnings.push({ code: 'skipped_file', file: src.file, message: 'has neither worker_app nor worker_name: not a worker config file, skipped' });
    return null;
  }
  if (app === 'synapse.app.homeserver') return null;
  if (name === undefined) {
    // Synapse names such a worker after its worker_app (synapse/config/workers.py:
    // worker_name = config.get("worker_name", worker_app)); stream_writers, instance_map and the
    // *_instances settings can only name it that way.
    name = app!;
    warnings.push({ code: 'missing_worker_name', file: src.file, line: 1,
      message: `sets no worker_name, so Synapse names this worker after its worker_app, '${name}' (not '${basename(src.file, extname(src.file))}' from the file name); set worker_name to give it a unique name` });
  }
  const { listeners, tls } = readListeners(src, 'worker_listeners', name, warnings, hasReplicationSecret({ ...shared, ...raw }));
  const mediaRepo = canLoadMediaRepo({ ...shared, ...raw });
  const media = listeners.find((l) => l.resources.has('media'));
  if (!mediaRepo && media) {
    warnings.push({
      code: 'media_repo_disabled', file: media.file, line: media.line,
      message: `${name}'s listener ${media.url} lists the 'media' resource, but Synapse does not load the media repository in this worker ` +
        `(enable_media_repo: false and worker_app is not synapse.app.media_repository; Synapse logs "A 'media' listener is configured but the media repository is disabled. Ignoring."): ` +
        `${name} is left out of the media route (set enable_media_repo: true in its worker file, or use worker_app: synapse.app.media_repository, if it should serve media)`,
    });
  }
  return { name, app: app ?? 'synapse.app.generic_worker', isMain: false, file: src.file, listeners, tlsListeners: tls, sockets: readSockets(src, 'worker_listeners'), mediaRepo, roles: [] };
}

/** The main process: its `listeners` come from the last shared file that sets them. */
function readMain(sources: readonly YamlSource[], merged: Raw, warnings: ImportWarning[]): SynapseProcess {
  const withListeners = [...sources].reverse().find((s) => Array.isArray((s.value as Raw | null)?.listeners));
  const file = withListeners?.file ?? sources[0]?.file ?? 'homeserver.yaml';
  const { listeners, tls } = withListeners ? readListeners(withListeners, 'listeners', 'main', warnings, hasReplicationSecret(merged)) : { listeners: [], tls: [] };
  const sockets = withListeners ? readSockets(withListeners, 'listeners') : [];
  return { name: 'main', app: 'synapse.app.homeserver', isMain: true, file, listeners, tlsListeners: tls, sockets, mediaRepo: canLoadMediaRepo(merged), roles: [] };
}

/**
 * Reads every file of a deployment. Throws SynapseConfigError for unusable input (no shared
 * config, a duplicate worker_name); YAML syntax errors surface as the config package's ConfigError.
 */
export function readDeployment(files: DeploymentFiles): Deployment {
  if (files.configs.length === 0) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', 'at least one --config (the shared homeserver.yaml) is required');
  const warnings: ImportWarning[] = [];
  const sources = expandConfigPaths(files.configs).map((f) => loadSynapseYaml(f));
  const merged: Raw = {};
  for (const s of sources) Object.assign(merged, asObject(s.value, s.file));
  const shared = sharedSettings(merged, sources);
  const main = readMain(sources, merged, warnings);
  const workers: SynapseProcess[] = [];
  const seen = new Map<string, string>([['main', main.file]]);
  for (const file of expandWorkerPaths(files.workers)) {
    const w = readWorker(loadSynapseYaml(file), merged, warnings);
    if (!w) continue;
    const prior = seen.get(w.name);
    if (prior !== undefined) throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${file}: worker_name '${w.name}' is already used by ${prior}`);
    seen.set(w.name, file);
    workers.push(w);
  }
  return { shared, main, workers, warnings };
}
