/**
 * When the schema rejects part of a routes.yaml, the semantic checks should still run on the
 * rest, so that one run reports every error of the file (issue 2, point 5) rather than the
 * schema errors first and the unknown upstreams on the next run. `salvage` replaces each rejected
 * listener, upstream or route by a neutral stand-in (keeping list indices, hence positions, and
 * upstream names intact), drops rejected top-level settings so their defaults apply, and says
 * which findings to ignore because they would concern the stand-ins.
 */
import type { z } from 'zod';
import type { IssueCode } from './errors.ts';

type Path = readonly (string | number)[];

/** A schema-parsable stand-in of the raw file, and which semantic findings to drop. */
export interface Salvaged {
  value: Record<string, unknown>;
  ignore(path: Path, code: IssueCode): boolean;
}

const LISTS = ['listeners', 'routes'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Null when too little is left to check (no mapping at the top, or `upstreams` itself rejected). */
export function salvage(raw: unknown, issues: readonly z.core.$ZodIssue[]): Salvaged | null {
  if (!isRecord(raw) || !isRecord(raw.upstreams)) return null;
  const value: Record<string, unknown> = { ...raw };
  const bad = { listeners: new Set<number>(), routes: new Set<number>(), upstreams: new Set<string>(), dropped: new Set<string>() };
  for (const issue of issues) {
    const [top, item] = issue.path;
    if (top === undefined) {
      if (issue.code === 'unrecognized_keys') issue.keys.forEach((k) => bad.dropped.add(k));
      else return null;
    } else if (top === 'upstreams' && typeof item === 'string') bad.upstreams.add(item);
    else if ((top === 'listeners' || top === 'routes') && typeof item === 'number') bad[top].add(item);
    else if (top === 'upstreams') return null;
    else bad.dropped.add(String(top));
  }
  for (const key of bad.dropped) delete value[key];
  const upstreams: Record<string, unknown> = { ...raw.upstreams };
  for (const name of bad.upstreams) upstreams[name] = { servers: [{ name: 's', url: 'http://127.0.0.1:1' }] };
  value.upstreams = upstreams;
  const anyUpstream = Object.keys(upstreams)[0] ?? 'main';
  for (const list of LISTS) {
    const items = value[list];
    if (!Array.isArray(items)) continue;
    value[list] = items.map((it, i) => (bad[list].has(i) ? standIn(list, i, anyUpstream) : it));
  }
  return {
    value,
    ignore: (path, code) => {
      const [top, item] = path;
      if (bad.dropped.has(String(top))) return true;
      if (code === 'unknown_group' && bad.dropped.has('synapse_version')) return true;
      if (top === 'upstreams') return bad.upstreams.has(String(item));
      return (top === 'listeners' || top === 'routes') && bad[top].has(Number(item));
    },
  };
}

/** A listener or route that validates, clashes with nothing, and matches no request. */
function standIn(list: (typeof LISTS)[number], i: number, upstream: string): unknown {
  const name = `salvaged_${list}_${i}`;
  if (list === 'listeners') return { name, kind: 'public', port: 0 };
  return { name, match: { paths: ['(?!)'] }, upstream };
}
