/**
 * Stream writers (workers.md "Stream writers"): `stream_writers` names the process(es) that write
 * each stream, and the stream's endpoints must reach them. Also the `instance_map` check: Synapse
 * finds every stream writer (and, since 1.84, main) through `instance_map`.
 */
import type { Catalogue } from '../../routing/catalogue/index.ts';
import { entriesOf, serverName, withHost, type PlannedRoute, type PlannedUpstream } from './model.ts';
import { members } from './pools.ts';
import type { Deployment, ImportWarning, SynapseProcess } from './types.ts';

/** Streams with endpoints, in route order, and the catalogue group holding their endpoints. */
export const STREAM_GROUPS: Readonly<Record<string, string>> = Object.freeze({
  typing: 'typing',
  to_device: 'to_device',
  account_data: 'account_data',
  receipts: 'receipts',
  presence: 'presence',
  push_rules: 'push_rules_writer',
  device_lists: 'device_lists',
  quarantined_media_changes: 'quarantined_media_changes',
});

/** Streams Synapse knows that have no endpoints of their own (nothing to route). */
const NO_ENDPOINT_STREAMS = new Set(['events', 'thread_subscriptions', 'un_partial_stated_room', 'caches']);

/** What the stream-writer step produced. */
export interface StreamPlan {
  readonly upstreams: PlannedUpstream[];
  readonly routes: PlannedRoute[];
  /** Streams whose endpoints got a writer route (generic routes for them are then omitted). */
  readonly routed: Set<string>;
  readonly notes: string[];
  /** Upstream name per writer set, so one writer of several streams is one upstream. */
  readonly byWriters: Map<string, string>;
}

/** file and line of a path of the shared config (the file that sets its top-level key). */
function at(dep: Deployment, path: readonly (string | number)[]): { file: string; line: number } {
  const w = dep.shared.where(path);
  return { file: w.file, line: w.line };
}

/**
 * Warns for every stream writer missing from instance_map (at the stream_writers entry naming it
 * first), and for main missing when there are workers (at instance_map when it is set).
 */
export function checkInstanceMap(dep: Deployment, warnings: ImportWarning[]): void {
  const writers = new Map<string, string>();
  for (const [stream, names] of Object.entries(dep.shared.streamWriters)) for (const n of names) if (!writers.has(n)) writers.set(n, stream);
  for (const [w, stream] of writers) {
    if (w === 'main' || w in dep.shared.instanceMap) continue;
    warnings.push({ code: 'writer_not_in_instance_map', ...at(dep, ['stream_writers', stream]),
      message: `stream writer '${w}' is not in instance_map: other processes cannot reach it over HTTP replication (workers.md "Stream writers")` });
  }
  // Every worker reaches main through instance_map.main (synapse/config/workers.py): without it a
  // worker refuses to start, whether or not any worker writes a stream.
  if (dep.workers.length > 0 && !('main' in dep.shared.instanceMap)) {
    const where = dep.shared.keys.has('instance_map') ? at(dep, ['instance_map']) : { file: dep.shared.files[0] };
    warnings.push({ code: 'main_not_in_instance_map', ...where, message: "instance_map has no 'main' entry: since Synapse 1.84 every worker needs it to reach the main process and refuses to start without it" });
  }
}

function resolveWriters(dep: Deployment, stream: string, names: readonly string[], warnings: ImportWarning[]): SynapseProcess[] {
  const out: SynapseProcess[] = [];
  for (const n of names) {
    // Instance names (worker_name, else worker_app): two workers may share one (read.ts warns).
    const ps = [dep.main, ...dep.workers].filter((p) => p.instanceName === n);
    if (ps.length > 0) out.push(...ps.filter((p) => !out.includes(p)));
    else warnings.push({ code: 'unknown_writer', ...at(dep, ['stream_writers', stream]), message: `stream_writers.${stream} names '${n}', but no worker file has that worker_name` });
  }
  return out;
}

/**
 * One writer route per stream whose writers are workers (main needs no route: it is the default).
 * `upstreamHost` is --upstream-host, written in every TCP server URL as in the other pools.
 */
export function planStreams(dep: Deployment, cat: Catalogue, warnings: ImportWarning[], upstreamHost?: string): StreamPlan {
  const plan: StreamPlan = { upstreams: [], routes: [], routed: new Set(), notes: [], byWriters: new Map() };
  const configured = Object.keys(dep.shared.streamWriters);
  const order = [...Object.keys(STREAM_GROUPS).filter((s) => configured.includes(s)), ...configured.filter((s) => !(s in STREAM_GROUPS))];
  for (const stream of order) {
    const names = dep.shared.streamWriters[stream] ?? [];
    if (NO_ENDPOINT_STREAMS.has(stream) || names.length === 0) continue;
    const group = STREAM_GROUPS[stream];
    if (group === undefined) {
      warnings.push({ code: 'unknown_stream', ...at(dep, ['stream_writers', stream]), message: `stream_writers.${stream}: no endpoint group is known for this stream; its endpoints stay on main` });
      continue;
    }
    if (names.every((n) => n === 'main')) continue;
    if (entriesOf(cat, group).length === 0) {
      plan.notes.push(`stream_writers.${stream} (${names.join(', ')}): the Synapse ${cat.version} worker docs list no endpoints for it, so no route`);
      continue;
    }
    const writers = members(resolveWriters(dep, stream, names, warnings), 'client', `the ${stream} stream's endpoints (stream_writers.${stream})`, warnings);
    if (writers.length === 0) continue;
    const key = writers.map((m) => m.process.name).join('\u0000');
    let upstream = plan.byWriters.get(key);
    if (upstream === undefined) {
      upstream = writers.length === 1 ? `writer_${serverName(writers[0]!.process.name)}` : `stream_${stream}`;
      plan.byWriters.set(key, upstream);
      plan.upstreams.push({
        name: upstream,
        servers: writers.map((m) => ({ name: serverName(m.process.name), url: withHost(m.url, upstreamHost) })),
        balance: { policy: 'round_robin' },
        notes: [],
      });
    }
    (plan.upstreams.find((u) => u.name === upstream)!.notes as string[]).push(`Writer of the ${stream} stream (stream_writers.${stream}: ${names.join(', ')}).`);
    plan.routes.push({
      name: `stream-${stream.replaceAll('_', '-')}`,
      match: { groups: [group] },
      upstream,
      comment: `stream_writers.${stream}`,
      notes: [`The ${stream} stream's endpoints to its writer (workers.md "Stream writers"); before the generic groups that list them too.`],
    });
    plan.routed.add(stream);
  }
  return plan;
}
