/**
 * Membership changes for `gateway simulate --down SERVER --add UPSTREAM=NAME@URL`. Each change
 * is applied to a copy of the configuration, which is then compiled like any reload would be, so
 * the simulation sees exactly the table the gateway would build (hash rings included: a `down`
 * server stays on its ring, as nginx keeps it, and its keys move to the next server).
 */
import { choiceHint } from '../../config/errors.ts';
import { Server, type RoutesConfig } from '../../config/routes-schema.ts';
import { SimulateError } from './errors.ts';

/** A parsed `--add UPSTREAM=NAME@URL`. */
export interface AddedServer {
  readonly upstream: string;
  readonly name: string;
  readonly url: string;
}

/** Parses `UPSTREAM=NAME@URL` (e.g. `sync=sync3@http://10.0.0.7:8083`). */
export function parseAdd(spec: string): AddedServer {
  const m = /^([^=\s]+)=([^@\s]+)@(\S+)$/.exec(spec);
  if (!m) throw new SimulateError('bad_membership_change', `--add ${spec}: expected UPSTREAM=NAME@URL, e.g. sync=sync3@http://127.0.0.1:8083`);
  const parsed = Server.safeParse({ name: m[2], url: m[3] });
  if (!parsed.success) throw new SimulateError('bad_membership_change', `--add ${spec}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return { upstream: m[1]!, name: m[2]!, url: m[3]! };
}

/**
 * Returns a copy of `config` with the changes applied. `--down` names a server as `NAME` (when
 * unique) or `UPSTREAM/NAME`. Unknown names and duplicate additions are errors with a hint.
 */
export function applyMembership(config: RoutesConfig, down: readonly string[], add: readonly AddedServer[]): RoutesConfig {
  const copy = structuredClone(config) as RoutesConfig;
  for (const a of add) {
    const up = copy.upstreams[a.upstream];
    if (!up) throw new SimulateError('unknown_upstream', `--add: no upstream '${a.upstream}' (${choiceHint(a.upstream, Object.keys(copy.upstreams), 'upstreams')})`);
    if (up.servers.some((s) => s.name === a.name)) throw new SimulateError('duplicate_server', `--add: upstream '${a.upstream}' already has a server '${a.name}'`);
    up.servers.push({ name: a.name, url: a.url, weight: 1, down: false });
  }
  for (const spec of down) {
    const [upstream, name] = resolveServer(copy, spec);
    const servers = copy.upstreams[upstream]!.servers;
    const i = servers.findIndex((s) => s.name === name);
    servers[i] = { ...servers[i]!, down: true };
  }
  return copy;
}

/** The upstream a `--down` spec names a server of (after applyMembership accepted it). */
export function upstreamOf(config: RoutesConfig, spec: string): string {
  return resolveServer(config, spec)[0];
}

function resolveServer(config: RoutesConfig, spec: string): [string, string] {
  const all = Object.entries(config.upstreams).flatMap(([u, up]) => up.servers.map((s) => [u, s.name] as [string, string]));
  const slash = spec.indexOf('/');
  const hits = slash >= 0
    ? all.filter(([u, n]) => u === spec.slice(0, slash) && n === spec.slice(slash + 1))
    : all.filter(([, n]) => n === spec);
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new SimulateError('unknown_server', `--down ${spec}: several upstreams have a server of that name; write UPSTREAM/NAME (${hits.map(([u, n]) => `${u}/${n}`).join(', ')})`);
  }
  const names = [...new Set(all.map(([u, n]) => (slash >= 0 ? `${u}/${n}` : n)))];
  throw new SimulateError('unknown_server', `--down ${spec}: no such server (${choiceHint(spec, names, 'servers')})`);
}

/** Human-readable list of the changes, for report headings. */
export function describeChanges(down: readonly string[], add: readonly AddedServer[]): string[] {
  return [...down.map((d) => `${d} down`), ...add.map((a) => `${a.upstream} += ${a.name} (${a.url})`)];
}
