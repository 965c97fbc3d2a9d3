/**
 * The endpoint catalogue: for each Synapse release, the endpoint regexes its docs/workers.md
 * lists for workers, grouped as the document groups them (issue 2 point 4, issue 4 point 2).
 * Consumers: the rule compiler (routes.yaml `match.groups`), `import-synapse`, and the
 * migration guide (`catalogueChanges`).
 */
import { ROWS } from './data.ts';
import { GROUP_NAMES, type Catalogue, type CatalogueEntry, type CatalogueRow, type GroupName } from './types.ts';
import { compareVersions, LATEST_SYNAPSE_VERSION, normaliseVersion, SYNAPSE_VERSIONS } from './versions.ts';

export type { Catalogue, CatalogueEntry, CatalogueRow, GroupName } from './types.ts';
export { GROUP_NAMES } from './types.ts';
export { compareVersions, LATEST_SYNAPSE_VERSION, normaliseVersion, SEED_VERSION, SYNAPSE_VERSIONS } from './versions.ts';

const GROUP_SET: ReadonlySet<string> = new Set(GROUP_NAMES);

/** True when `s` names a catalogue group (in any release). */
export function isGroupName(s: string): s is GroupName {
  return GROUP_SET.has(s);
}

/** True when the row is listed in the docs of `version`. */
function listedIn(row: CatalogueRow, version: string): boolean {
  if (row.since !== undefined && compareVersions(version, row.since) < 0) return false;
  if (row.until !== undefined && compareVersions(version, row.until) >= 0) return false;
  return true;
}

/** Strips the versioning fields and freezes. */
function toEntry(row: CatalogueRow): CatalogueEntry {
  const { since: _s, until: _u, ...entry } = row;
  if (entry.methods) Object.freeze(entry.methods);
  return Object.freeze(entry);
}

function build(version: string): Catalogue {
  const entries = Object.freeze(ROWS.filter((r) => listedIn(r, version)).map(toEntry));
  const byGroup = new Map<GroupName, CatalogueEntry[]>(GROUP_NAMES.map((g) => [g, []]));
  for (const e of entries) byGroup.get(e.group)?.push(e);
  for (const list of byGroup.values()) Object.freeze(list);
  const groupNames = Object.freeze(GROUP_NAMES.filter((g) => (byGroup.get(g)?.length ?? 0) > 0));
  return Object.freeze({
    version,
    entries,
    groupNames,
    group: (name: string) => (isGroupName(name) ? byGroup.get(name) : undefined),
  });
}

const cache = new Map<string, Catalogue>();

/**
 * The catalogue of one Synapse release ('1.92', also 'v1.92.0' or '1.92.3'); the newest when
 * omitted. Throws an Error listing the known releases for a version the catalogue does not hold.
 * Results are cached and deeply frozen.
 */
export function catalogueFor(version?: string): Catalogue {
  const key = version === undefined ? LATEST_SYNAPSE_VERSION : normaliseVersion(version);
  if (key === null) {
    throw new Error(`unknown Synapse version '${version}': the catalogue knows ${SYNAPSE_VERSIONS.join(', ')}`);
  }
  let cat = cache.get(key);
  if (!cat) {
    cat = build(key);
    cache.set(key, cat);
  }
  return cat;
}

/** What changed in the worker endpoint lists between two releases. */
export interface CatalogueChanges {
  readonly from: string;
  readonly to: string;
  /** Entries listed in `to` but not in `from`. */
  readonly added: readonly CatalogueEntry[];
  /** Entries listed in `from` but not in `to`. */
  readonly removed: readonly CatalogueEntry[];
}

/** Identity of an entry across releases: same regex, group, section and method restriction. */
function entryKey(e: CatalogueEntry): string {
  return `${e.group}\u0000${e.section}\u0000${e.regex}\u0000${(e.methods ?? []).join(',')}`;
}

/**
 * The entries added and removed between two releases (either order), e.g. for the migration
 * guide or for warning an operator who upgrades Synapse without updating `synapse_version`.
 */
export function catalogueChanges(from: string, to: string): CatalogueChanges {
  const a = catalogueFor(from);
  const b = catalogueFor(to);
  const ka = new Set(a.entries.map(entryKey));
  const kb = new Set(b.entries.map(entryKey));
  return Object.freeze({
    from: a.version,
    to: b.version,
    added: Object.freeze(b.entries.filter((e) => !ka.has(entryKey(e)))),
    removed: Object.freeze(a.entries.filter((e) => !kb.has(entryKey(e)))),
  });
}
