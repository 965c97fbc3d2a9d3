/**
 * Shadowing analysis (issue 2, point 5: "a route fully shadowed by an earlier one is a
 * warning"): a route that can never win, because every request it matches is taken by earlier
 * routes (first match wins). Unlike a comparison of regex texts, this decides language
 * inclusion with the routing DFA: `^/_matrix/client/v3/sync$` is found shadowed by the `sync`
 * group's `^/_matrix/client/(r0|v3)/sync$`, and a path covered by the union of several earlier
 * routes' regexes counts too.
 *
 * It is conservative (it never reports a route that can win): an earlier route helps only when
 * its query and header conditions are a subset of the later route's (same name, same
 * condition), and an endpoint (regex + the methods it admits) is covered only by earlier
 * endpoints admitting at least those methods. Regexes outside the DFA's subset are covered
 * only by an identical regex or a route without path conditions.
 */
import type { MatchConfig, RoutesConfig, ValueCondition } from '../config/routes-schema.ts';
import { catalogueFor, type Catalogue } from './catalogue/index.ts';
import { LazyDfa } from './dfa.ts';
import { parseRegex, type RegexNode } from './dfa-regex.ts';

type Methods = 'any' | readonly string[];

/** One way a route can match: a regex (null = every path) and the methods admitted. */
interface Endpoint {
  readonly regex: string | null;
  readonly methods: Methods;
}

/** Explored DFA states before the analysis gives up (and reports nothing). */
const MAX_STATES = 5_000;

function intersect(a: Methods, b: Methods): Methods {
  if (a === 'any') return b;
  if (b === 'any') return a;
  return a.filter((m) => b.includes(m));
}

function methodsCover(outer: Methods, inner: Methods): boolean {
  if (outer === 'any') return true;
  return inner !== 'any' && inner.every((m) => outer.includes(m));
}

function endpoints(m: MatchConfig, catalogue: Catalogue): Endpoint[] {
  const routeMethods: Methods = m.methods ?? 'any';
  if (!m.groups?.length && !m.paths?.length) return [{ regex: null, methods: routeMethods }];
  const out: Endpoint[] = [];
  for (const g of m.groups ?? []) for (const e of catalogue.group(g) ?? []) out.push({ regex: e.regex, methods: intersect(e.methods ?? 'any', routeMethods) });
  for (const p of m.paths ?? []) out.push({ regex: p, methods: routeMethods });
  return out.filter((e) => e.methods === 'any' || e.methods.length > 0);
}

function conditionsImplied(earlier: Readonly<Record<string, ValueCondition>> | undefined, later: Readonly<Record<string, ValueCondition>> | undefined, fold: boolean): boolean {
  const norm = (o: Readonly<Record<string, ValueCondition>> | undefined): Map<string, string> =>
    new Map(Object.entries(o ?? {}).map(([k, v]) => [fold ? k.toLowerCase() : k, JSON.stringify(v)]));
  const l = norm(later);
  return [...norm(earlier)].every(([k, v]) => l.get(k) === v);
}

/** True when every string `regex` matches is matched by one of `by` (RegExp.test semantics). */
export function regexCovered(regex: string, by: readonly string[]): boolean {
  if (by.includes(regex)) return true;
  const target = parseRegex(regex);
  const others = by.map((b) => parseRegex(b)).filter((n): n is RegexNode => n !== null);
  if (target === null || others.length === 0) return false;
  const dfa = new LazyDfa([target, ...others], (ids) => ids, { maxStates: MAX_STATES + 1 });
  return dfa.firstCovered(MAX_STATES) === true;
}

/** The first earlier route (index) needed to cover endpoint `e`, or -1 when earlier routes do not cover it. */
function coveredBy(e: Endpoint, earlier: readonly { index: number; ends: readonly Endpoint[] }[]): number {
  const helpers = earlier.filter((r) => r.ends.some((x) => methodsCover(x.methods, e.methods)));
  const catchAll = helpers.find((r) => r.ends.some((x) => x.regex === null && methodsCover(x.methods, e.methods)));
  if (catchAll) return catchAll.index;
  if (e.regex === null) return -1;
  const regexes = helpers.flatMap((r) => r.ends.filter((x) => x.regex !== null && methodsCover(x.methods, e.methods)).map((x) => x.regex!));
  if (!regexCovered(e.regex, regexes)) return -1;
  // Report the earliest helper whose regexes alone already cover some of e, else the first helper.
  const alone = helpers.find((r) => r.ends.some((x) => x.regex === e.regex));
  return (alone ?? helpers[0])!.index;
}

/**
 * Routes that can never win, each with an earlier route that takes (some of) its requests.
 * Routes whose endpoints can never match at all (e.g. a GET-only group restricted to PUT) are
 * not reported here.
 */
export function shadowedRoutes(config: RoutesConfig): { route: number; by: number }[] {
  const catalogue = catalogueFor(config.synapse_version);
  const routes = config.routes.map((r, index) => ({ index, match: r.match, ends: endpoints(r.match, catalogue) }));
  const out: { route: number; by: number }[] = [];
  for (const b of routes) {
    if (b.ends.length === 0) continue;
    const earlier = routes.filter((a) => a.index < b.index && conditionsImplied(a.match.query, b.match.query, false)
      && conditionsImplied(a.match.headers, b.match.headers, true));
    const by = b.ends.map((e) => coveredBy(e, earlier));
    if (by.every((i) => i >= 0)) out.push({ route: b.index, by: Math.min(...by) });
  }
  return out;
}
