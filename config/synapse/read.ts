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

/** Streams Synapse allows exactly one writer for, neither several nor none (synapse/config/workers.py, WorkerConfig.read_config: `len(...) != 1`). */
export const SINGLE_WRITER_STREAMS: readonly string[] = Object.freeze(['typing', 'to_device', 'account_data', 'presence', 'push_rules']);

/** Streams that may have several writers but need at least one (Synapse checks `len(...) == 0`). */
const MULTI_WRITER_STREAMS: readonly string[] = Object.freeze(['events', 'receipts']);

/** The worker-related shared settings (configuration manual, "Workers" section). */
export function sharedSettings(merged: Raw, sources: readonly YamlSource[]): SharedSettings {
  const where = locator(sources);
  const writers: Record<string, string[]> = {};
  for (const [stream, names] of Object.entries(mappingAt(merged, 'stream_writers', where, 'stream name to writer(s)'))) {
    writers[stream] = strings(names);
    // As Synapse counts them: a string is one writer, a list its length (null makes Synapse fail too).
    const count = typeof names === 'string' ? 1 : Array.isArray(names) ? names.length : 0;
    const none = count === 0 && (SINGLE_WRITER_STREAMS.includes(stream) || MULTI_WRITER_STREAMS.includes(stream));
    if (none) {
      const at = where(['stream_writers', stream]);
      const single = SINGLE_WRITER_STREAMS.includes(stream);
      throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${at.file}:${at.line}:${at.column}: stream_writers.${stream} names no writer, but ${single ? 'exactly' : 'at least'} one process must write the ${stream} stream: ` +
        `Synapse refuses to start ("Must ${single ? 'only specify one instance' : 'specify at least one instance'} to handle ...", synapse/config/workers.py); name its writer, or remove the entry to leave it to main`);
    }
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
    keys: new Set(Object.keys(merged)),
    files: sources.map((s) => s.file),
    where,
  };
}

/**
 * Expands `--config` paths as Synapse's `--config-path` does (synapse/config/_base.py,
 * find_config_files): a directory stands for its files whose names end in `.yaml` (not `.yml`), in
 * sorted order; anything else is a file. What Synapse ignores there ("... IGNORING": entries that
 * are not files, such as subdirectories and dangling symlinks, and names not ending in `.yaml`)
 * is skipped with a `skipped_file` warning when `warnings` is given, and so is an empty directory.
 */
export function expandConfigPaths(paths: readonly string[], warnings?: ImportWarning[]): string[] {
  const out: string[] = [];
  const skip = (file: string, message: string): void => void warnings?.push({ code: 'skipped_file', file, message });
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
    const files: string[] = [];
    for (const f of readdirSync(p).sort().map((e) => join(p, e))) {
      let isFile = false;
      try {
        isFile = statSync(f).isFile();
      } catch {
        // A dangling symlink: os.path.isfile is False for it too.
      }
      if (!isFile) skip(f, "is in a --config directory but is not a file (a subdirectory, or a dangling symlink): Synapse ignores it, so it is skipped");
      else if (!f.endsWith('.yaml')) skip(f, "is in a --config directory but does not end in '.yaml': Synapse ignores it, so it is skipped");
      else files.push(f);
    }
    if (files.length === 0) skip(p, 'the --config directory has no *.yaml files: nothing read from it');
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

/** A worker as read, before names are made unique. */
interface ReadWorker {
  readonly process: SynapseProcess;
  readonly src: YamlSource;
  /** The file sets worker_name (else the instance name is worker_app). */
  readonly named: boolean;
}

/**
 * Reads one worker file. `shared` is the merged shared config: Synapse starts a worker with the
 * shared files then the worker file (`-c homeserver.yaml -c worker.yaml`), merged key by key.
 */
function readWorker(src: YamlSource, shared: Raw, warnings: ImportWarning[]): ReadWorker | null {
  const raw = asObject(src.value, src.file);
  const app = optString(raw.worker_app);
  const name = optString(raw.worker_name) ?? app;
  if (app === undefined && name === undefined) {
    warnings.push({ code: 'skipped_file', file: src.file, message: 'has neither worker_app nor worker_name: not a worker config file, skipped' });
    return null;
  }
  if (app === 'synapse.app.homeserver') return null;
  const named = optString(raw.worker_name) !== undefined;
  const { listeners, tls } = readListeners(src, 'worker_listeners', name!, warnings, hasReplicationSecret({ ...shared, ...raw }));
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
  const process: SynapseProcess = { name: name!, instanceName: name!, app: app ?? 'synapse.app.generic_worker', isMain: false, file: src.file, listeners, tlsListeners: tls, sockets: readSockets(src, 'worker_listeners'), mediaRepo, roles: [] };
  return { process, src, named };
}

/**
 * Unique names for the workers. Synapse names a worker without worker_name after its worker_app
 * (synapse/config/workers.py: `config.get("worker_name", self.worker_app)`) and starts it even
 * when another worker has that name too, so two such workers are not an error: each keeps the
 * instance name Synapse gives it (for stream_writers, instance_map, *_instances) and the file gets
 * its file's base name, with a warning, as Synapse's replication tells instances apart by name.
 * Two workers whose worker_name is written the same stay an error.
 */
function uniqueNames(read: readonly ReadWorker[], main: SynapseProcess, warnings: ImportWarning[]): SynapseProcess[] {
  const byInstance = new Map<string, ReadWorker[]>();
  for (const r of read) byInstance.set(r.process.instanceName, [...(byInstance.get(r.process.instanceName) ?? []), r]);
  const used = new Set<string>(['main', ...read.filter((r) => r.named).map((r) => r.process.instanceName)]);
  const renamed = new Map<ReadWorker, string>();
  for (const group of byInstance.values()) {
    const named = group.filter((r) => r.named);
    if (named.length > 0 && named[0]!.process.instanceName === main.instanceName) {
      const at = named[0]!.src.positionOf(['worker_name']);
      throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${named[0]!.src.file}:${at.line}:${at.column}: worker_name '${main.instanceName}' is already used by the main process (${main.file})`);
    }
    if (named.length > 1) {
      const at = named[1]!.src.positionOf(['worker_name']);
      throw new SynapseConfigError('SYNAPSE_CONFIG_INVALID', `${named[1]!.src.file}:${at.line}:${at.column}: worker_name '${named[1]!.process.instanceName}' is already used by ${named[0]!.src.file}`);
    }
    if (group.length < 2) {
      if (!group[0]!.named) used.add(group[0]!.process.instanceName);
      continue;
    }
    for (const r of group.filter((x) => !x.named)) {
      const base = basename(r.src.file, extname(r.src.file));
      let name = base;
      for (let i = 2; used.has(name) || byInstance.has(name); i++) name = `${base}_${i}`;
      used.add(name);
      renamed.set(r, name);
    }
  }
  for (const r of read) {
    const instance = r.process.instanceName;
    const name = renamed.get(r);
    if (name === undefined) {
      if (!r.named) {
        warnings.push({ code: 'missing_worker_name', file: r.src.file, line: r.src.positionOf(['worker_app']).line,
          message: `sets no worker_name, so Synapse names this worker after its worker_app, '${instance}' (not '${basename(r.src.file, extname(r.src.file))}' from the file name); set worker_name to give it a unique name` });
      }
      continue;
    }
    const others = byInstance.get(instance)!.filter((o) => o !== r).map((o) => o.src.file);
    warnings.push({ code: 'duplicate_instance_name', file: r.src.file, line: r.src.positionOf(['worker_app']).line,
      message: `sets no worker_name, so Synapse names this worker after its worker_app, '${instance}', as it names ${others.join(', ')}: ` +
        `Synapse starts both, but its replication tells instances apart by name (stream positions, instance_map, stream_writers), so they interfere; ` +
        `called '${name}' here (its file's name) — set a unique worker_name in each` });
    (r.process as { name: string }).name = name;
  }
  return read.map((r) => r.process);
}

/** The main process: its `listeners` come from the last shared file that sets them. */
function readMain(sources: readonly YamlSource[], merged: Raw, warnings: ImportWarning[]): SynapseProcess {
  const withListeners = [...sources].reverse().find((s) => Array.isArray((s.value as Raw | null)?.listeners));
  const file = withListeners?.file ?? sources[0]?.file ?? 'homeserver.yaml';
  const { listeners, tls } = withListeners ? readListeners(withListeners, 'listeners', 'main', warnings, hasReplicationSecret(merged)) : { listeners: [], tls: [] };
  const sockets = withListeners ? readSockets(withListeners, 'listeners') : [];
  return { name: 'main', instanceName: 'main', app: 'synapse.app.homeserver', isMain: true, file, listeners, tlsListeners: tls, sockets, mediaRepo: canLoadMediaRepo(merged), roles: [] };
}

/**
 * Reads every file of a deployment. Throws SynapseConfigError for unusable input (no shared
 * config, a duplicate worker_name); YAML syntax errors surface as the config package's ConfigError.
 */
export function readDeployment(files: DeploymentFiles): Deployment {
  if (files.configs.length === 0) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', 'at least one --config (the shared homeserver.yaml) is required');
  const warnings: ImportWarning[] = [];
  // Synapse's read_config_files skips a file that is empty or not a mapping ("... IGNORING").
  const sources = expandConfigPaths(files.configs, warnings).map((f) => loadSynapseYaml(f)).filter((s) => {
    if (typeof s.value === 'object' && s.value !== null && !Array.isArray(s.value)) return true;
    warnings.push({ code: 'skipped_file', file: s.file, message: `is empty or not a mapping at the top level (${kindOf(s.value)}): Synapse ignores such a config file, so it is skipped` });
    return false;
  });
  if (sources.length === 0) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `no shared config: ${files.configs.join(', ')} hold no YAML mapping (Synapse would refuse to start without server_name)`);
  const merged: Raw = {};
  for (const s of sources) Object.assign(merged, s.value as Raw);
  const shared = sharedSettings(merged, sources);
  const main = readMain(sources, merged, warnings);
  const read: ReadWorker[] = [];
  for (const file of expandWorkerPaths(files.workers)) {
    const w = readWorker(loadSynapseYaml(file), merged, warnings);
    if (w) read.push(w);
  }
  const workers = uniqueNames(read, main, warnings);
  return { shared, main, workers, warnings };
}
