/**
 * The import plan: upstreams and ordered routes as plain data with the reasons behind each, ready
 * to be written as a commented routes.yaml (./emit.ts). Kept separate from the YAML so tests can
 * assert on the plan as well as on the compiled table.
 */
import type { Catalogue, CatalogueEntry } from '../../routing/catalogue/index.ts';
import type { ImportWarning } from './types.ts';

/** Key names the planner uses (a subset of routes-schema KeySpec). */
export type KeyName = 'token_user' | 'room_id' | 'source_ip' | 'federation_origin';

/** A balance policy as written in routes.yaml. */
export type BalanceSpec =
  | { readonly policy: 'round_robin' }
  | { readonly policy: 'consistent_hash' | 'nginx_hash'; readonly key: KeyName }
  | { readonly policy: 'synapse_shard'; readonly key: 'room_id' };

/** A route's match as written in routes.yaml. */
export interface MatchSpec {
  readonly groups?: readonly string[];
  readonly paths?: readonly string[];
  readonly methods?: readonly string[];
  readonly query?: Readonly<Record<string, 'absent_or_empty' | { equals: string }>>;
}

export interface PlannedServer {
  readonly name: string;
  readonly url: string;
}

export interface PlannedUpstream {
  readonly name: string;
  readonly servers: readonly PlannedServer[];
  readonly balance: BalanceSpec;
  /** Comment lines written above the upstream. */
  readonly notes: readonly string[];
}

export interface PlannedRoute {
  readonly name: string;
  readonly match: MatchSpec;
  readonly upstream: string;
  readonly balance?: BalanceSpec;
  readonly longPoll?: boolean;
  /** One line for the route's `comment:` field (shown by `gateway explain`). */
  readonly comment: string;
  /** Comment lines written above the route. */
  readonly notes: readonly string[];
}

/** A process that gets no route, and why. */
export interface UnroutedProcess {
  readonly name: string;
  readonly description: string;
}

/** Everything `import-synapse` decided. */
export interface ImportPlan {
  readonly synapseVersion: string;
  readonly upstreams: readonly PlannedUpstream[];
  readonly routes: readonly PlannedRoute[];
  readonly unrouted: readonly UnroutedProcess[];
  /** Facts worth a line in the file header (e.g. which groups stay on main). */
  readonly notes: readonly string[];
  readonly warnings: readonly ImportWarning[];
  readonly listen: { readonly host: string; readonly port: number };
  readonly admin: { readonly host: string; readonly port: number };
  readonly adminAllow: readonly string[];
}

/** Options of the import (the CLI flags). */
export interface ImportOptions {
  /** Synapse release whose catalogue the routes use; default the newest. */
  readonly synapseVersion?: string;
  /** Inbound federation stickiness: the docs' source IP, or the X-Matrix origin. */
  readonly federationKey: 'source_ip' | 'federation_origin';
  /** Emit nginx_hash (nginx's `hash $key consistent`) instead of consistent_hash, for cut-overs. */
  readonly nginxCompatible: boolean;
  /** Write this host instead of the bind-derived one in every TCP server URL (e.g. nginx's `localhost`). */
  readonly upstreamHost?: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly admin: { readonly host: string; readonly port: number };
  /** CIDRs allowed to reach /_synapse/admin/ on the public listener (routes.yaml access.admin_allow). */
  readonly adminAllow?: readonly string[];
}

/** Server names allow letters, digits and `_ . : -`; docker names such as `a+b1` get `_`. */
export function serverName(workerName: string): string {
  return workerName.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/**
 * `url` with its host replaced by --upstream-host (TCP URLs only; unix: sockets keep their path).
 * An IPv6 literal gets brackets (`::1` becomes `[::1]`), as a URL needs them before `:port`.
 */
export function withHost(url: string, host: string | undefined): string {
  if (host === undefined) return url;
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return url.replace(/^(https?:\/\/)[^/]*?(:\d+)$/, (_m, scheme: string, port: string) => `${scheme}${h}${port}`);
}

/** Entries of `group` in this release ([] when it has none). */
export function entriesOf(cat: Catalogue, group: string): readonly CatalogueEntry[] {
  return cat.group(group) ?? [];
}

/** The groups among `names` that have entries in this release. */
export function present(cat: Catalogue, names: readonly string[]): string[] {
  return names.filter((g) => entriesOf(cat, g).length > 0);
}

const GENERIC_SECTION = 'synapse.app.generic_worker';

/**
 * A match for what a *generic* worker may serve of `group`. Some groups (account_data, receipts,
 * presence) are listed twice in workers.md, under generic_worker and under "Stream writers", and
 * the generic listing may be method-restricted in later releases (GET-only since 1.122), so when
 * the group holds other sections the match names the generic section's regexes explicitly.
 */
export function genericMatch(cat: Catalogue, group: string): MatchSpec | null {
  const all = entriesOf(cat, group);
  const gen = all.filter((e) => e.section.startsWith(GENERIC_SECTION));
  if (all.length === 0 || gen.length === 0) return null;
  if (gen.length === all.length) return { groups: [group] };
  const methods = gen[0]!.methods;
  const sameMethods = gen.every((e) => (e.methods ?? []).join() === (methods ?? []).join());
  const paths = [...new Set(gen.map((e) => e.regex))];
  return sameMethods && methods ? { paths, methods: [...methods] } : { paths };
}
