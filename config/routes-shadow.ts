/**
 * A conservative shadowing analysis for routes.yaml: route B is reported as shadowed by an earlier
 * route A only when A provably takes every request B matches (first match wins, issue 2 point 6).
 * "Provably" is syntactic: A's query and header conditions are a subset of B's, and every endpoint
 * of B (regex plus method restriction) is an endpoint of A with the same regex source, or A matches
 * every path. It never reports a route that can be reached; it may miss some that cannot.
 */
import type { Catalogue } from '../routing/catalogue/index.ts';
import type { RouteConfig, RoutesConfig, ValueCondition } from './routes-schema.ts';

/** One path alternative of a route: a regex (null = every path) and the methods it admits (undefined = any). */
interface Endpoint {
  regex: string | null;
  methods: ReadonlySet<string> | undefined;
}

function intersect(a: readonly string[] | undefined, b: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (!a) return b ? new Set(b) : undefined;
  if (!b) return new Set(a);
  return new Set(a.filter((m) => b.includes(m)));
}

/** The route's endpoints; alternatives whose method sets are empty can never match and are dropped. */
function endpoints(r: RouteConfig, catalogue: Catalogue): Endpoint[] {
  const m = r.match;
  if (!m.groups?.length && !m.paths?.length) return [{ regex: null, methods: intersect(m.methods, undefined) }];
  const out: Endpoint[] = [];
  for (const g of m.groups ?? []) {
    for (const e of catalogue.group(g) ?? []) out.push({ regex: e.regex, methods: intersect(m.methods, e.methods) });
  }
  for (const p of m.paths ?? []) out.push({ regex: p, methods: intersect(m.methods, undefined) });
  return out.filter((e) => e.methods === undefined || e.methods.size > 0);
}

function methodsCover(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined) return true;
  return b !== undefined && [...b].every((m) => a.has(m));
}

function conditionsCover(a: Readonly<Record<string, ValueCondition>> | undefined, b: Readonly<Record<string, ValueCondition>> | undefined, fold: boolean): boolean {
  const norm = (o: Readonly<Record<string, ValueCondition>> | undefined): Map<string, string> =>
    new Map(Object.entries(o ?? {}).map(([k, v]) => [fold ? k.toLowerCase() : k, JSON.stringify(v)]));
  const nb = norm(b);
  return [...norm(a)].every(([k, v]) => nb.get(k) === v);
}

function covers(a: RouteConfig, aEnds: Endpoint[], b: RouteConfig, bEnds: Endpoint[]): boolean {
  if (!conditionsCover(a.match.query, b.match.query, false)) return false;
  if (!conditionsCover(a.match.headers, b.match.headers, true)) return false;
  return bEnds.every((e) => aEnds.some((x) => (x.regex === null || x.regex === e.regex) && methodsCover(x.methods, e.methods)));
}

/** Routes that can never match, each with the first earlier route that takes all of its requests. */
export function shadowedRoutes(config: RoutesConfig, catalogue: Catalogue): { route: number; by: number }[] {
  const ends = config.routes.map((r) => endpoints(r, catalogue));
  const out: { route: number; by: number }[] = [];
  config.routes.forEach((b, j) => {
    if (ends[j]!.length === 0) return;
    const by = config.routes.findIndex((a, i) => i < j && covers(a, ends[i]!, b, ends[j]!));
    if (by >= 0) out.push({ route: j, by });
  });
  return out;
}
