/**
 * Role inference. Synapse's config says which process writes which stream and runs which
 * background job; it does not say which generic worker serves sync, initial sync, federation or
 * client reads — only the reverse proxy knows that. We recover those roles from (1) `--role`
 * overrides, (2) the legacy `worker_app` names (workers.md "Historical apps"), (3) the worker-type
 * names Synapse's docker image builds worker names from (docker/configure_workers_and_start.py,
 * WORKERS_CONFIG: `<types joined by +><n>`, e.g. `synchrotron1`, `event_creator+event_persister1`),
 * and (4) the shared config (stream_writers, pusher_instances, ...), which is authoritative.
 */
import { choiceHint } from '../errors.ts';
import { ROLES, SynapseConfigError, type Deployment, type Role, type RoleFact, type RoleOverrides, type SynapseProcess } from './types.ts';

/** Legacy `worker_app` values (now all equivalent to generic_worker) and the role each implies. */
export const LEGACY_APP_ROLES: Readonly<Record<string, readonly Role[]>> = Object.freeze({
  'synapse.app.synchrotron': ['sync'],
  'synapse.app.client_reader': ['client'],
  'synapse.app.federation_reader': ['federation_reader'],
  'synapse.app.event_creator': ['event_creator'],
  // frontend_proxy served keys/upload and presence for main; today it is a generic worker.
  'synapse.app.frontend_proxy': ['client'],
  'synapse.app.media_repository': ['media'],
  'synapse.app.user_dir': ['user_dir'],
  'synapse.app.pusher': ['pusher'],
  'synapse.app.federation_sender': ['federation_sender'],
  'synapse.app.appservice': ['appservice'],
});

/**
 * Worker types of Synapse's docker image (WORKERS_CONFIG keys) and the role each implies. The
 * stream types are stream writers: their routes come from `stream_writers`, not from the name.
 */
export const DOCKER_TYPE_ROLES: Readonly<Record<string, Role>> = Object.freeze({
  synchrotron: 'sync',
  client_reader: 'client',
  federation_inbound: 'federation_inbound',
  federation_reader: 'federation_reader',
  event_creator: 'event_creator',
  event_persister: 'event_persister',
  media_repository: 'media',
  user_dir: 'user_dir',
  pusher: 'pusher',
  federation_sender: 'federation_sender',
  background_worker: 'background',
  appservice: 'appservice',
  account_data: 'stream_writer',
  presence: 'stream_writer',
  receipts: 'stream_writer',
  to_device: 'stream_writer',
  typing: 'stream_writer',
  push_rules: 'stream_writer',
  device_lists: 'stream_writer',
  thread_subscriptions: 'stream_writer',
});

const TYPES_LONGEST_FIRST = Object.keys(DOCKER_TYPE_ROLES).sort((a, b) => b.length - a.length);

/**
 * The docker worker types named in a worker name. A type counts when it stands between
 * non-letters (`+`, `_`, `-`, digits, the ends), so `event_creator+event_persister1` yields
 * both and `generic_worker1` none.
 */
export function dockerTypesInName(name: string): string[] {
  let rest = name.toLowerCase();
  const found: string[] = [];
  for (const t of TYPES_LONGEST_FIRST) {
    const re = new RegExp(`(^|[^a-z])${t}(?=[^a-z]|$)`);
    if (re.test(rest)) {
      found.push(t);
      rest = rest.replace(re, '$1#');
    }
  }
  return found;
}

/** Parses `--role WORKER=ROLE[,ROLE...]` values. */
export function parseRoleOverrides(values: readonly string[]): Map<string, Role[]> {
  const out = new Map<string, Role[]>();
  for (const v of values) {
    const m = /^([^=]+)=(.+)$/.exec(v);
    if (!m) throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--role ${v}: expected WORKER=ROLE[,ROLE...]`);
    const roles = m[2]!.split(',').map((r) => r.trim());
    for (const r of roles) {
      if (!(ROLES as readonly string[]).includes(r)) {
        throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--role ${v}: unknown role '${r}' (${choiceHint(r, ROLES, 'roles')})`);
      }
    }
    out.set(m[1]!.trim(), [...(out.get(m[1]!.trim()) ?? []), ...(roles as Role[])]);
  }
  return out;
}

function add(p: SynapseProcess, fact: RoleFact): void {
  if (!p.roles.some((r) => r.role === fact.role && r.source === fact.source)) p.roles.push(fact);
}

/** Roles from `--role`, else from worker_app and the worker name. */
function proxyRoles(p: SynapseProcess, overrides: RoleOverrides): void {
  const forced = overrides.get(p.name);
  if (forced) {
    for (const role of forced) add(p, { role, source: 'override', because: `--role ${p.name}=${forced.join(',')}` });
    return;
  }
  for (const role of LEGACY_APP_ROLES[p.app] ?? []) add(p, { role, source: 'worker_app', because: `worker_app: ${p.app}` });
  for (const t of dockerTypesInName(p.instanceName)) {
    add(p, { role: DOCKER_TYPE_ROLES[t]!, source: 'worker_name', because: `worker_name contains the docker worker type '${t}'` });
  }
  if (p.mediaRepo && p.listeners.some((l) => l.resources.has('media'))) add(p, { role: 'media', source: 'listener', because: "an HTTP listener serves the 'media' resource" });
}

/** Roles the shared config states (authoritative: Synapse itself acts on these). */
function configRoles(dep: Deployment): void {
  const s = dep.shared;
  // The shared config names Synapse's instance names; every worker with that name acts on it.
  const give = (name: string | undefined, role: Role, because: string): void => {
    for (const p of dep.workers) if (name !== undefined && p.instanceName === name) add(p, { role, source: 'shared_config', because });
  };
  for (const [stream, names] of Object.entries(s.streamWriters)) {
    for (const n of names) give(n, stream === 'events' ? 'event_persister' : 'stream_writer', `stream_writers.${stream}`);
  }
  for (const n of s.pusherInstances) give(n, 'pusher', 'pusher_instances');
  for (const n of s.federationSenderInstances) give(n, 'federation_sender', 'federation_sender_instances');
  give(s.runBackgroundTasksOn, 'background', 'run_background_tasks_on');
  give(s.notifyAppservicesFromWorker, 'appservice', 'notify_appservices_from_worker');
  give(s.updateUserDirectoryFromWorker, 'user_dir', 'update_user_directory_from_worker');
  give(s.mediaInstanceRunningBackgroundJobs, 'media', 'media_instance_running_background_jobs');
}

/**
 * Fills `roles` of every worker. Unknown worker names in `overrides` are an error (a typo would
 * otherwise silently change nothing).
 */
export function inferRoles(dep: Deployment, overrides: RoleOverrides): void {
  const byName = new Map(dep.workers.map((w) => [w.name, w]));
  for (const name of overrides.keys()) {
    if (!byName.has(name)) {
      throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE', `--role ${name}=…: no worker is named '${name}' (${choiceHint(name, [...byName.keys()], 'workers')})`);
    }
  }
  for (const w of dep.workers) proxyRoles(w, overrides);
  configRoles(dep);
}

/** True when the process has the role (from any source). */
export function hasRole(p: SynapseProcess, role: Role): boolean {
  return p.roles.some((r) => r.role === role);
}

/**
 * A generic worker: no role from `--role`, worker_app or worker name, so (as workers.md says of
 * synapse.app.generic_worker) it can serve every documented endpoint its listeners carry.
 */
export function isGeneric(p: SynapseProcess): boolean {
  return !p.isMain && !p.roles.some((r) => r.source === 'override' || r.source === 'worker_app' || r.source === 'worker_name');
}
