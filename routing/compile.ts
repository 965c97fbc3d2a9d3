/**
 * The rule compiler (issue 2, points 6 and 11): turns the ordered routes of a routes.yaml into a
 * `PathMatcher` that answers "which route wins?" with the same result as the sequential
 * evaluator (routing/sequential.ts), faster. Every distinct path regex of every route goes into
 * one lazy DFA (routing/dfa.ts), which reports the set of regexes that match the path in one
 * pass; each final DFA state caches the ordered list of routes still possible for it, with the
 * methods each admits, so a request then only checks methods, query and headers of those few
 * candidates. Regexes the DFA does not support fall back to `RegExp.test`, for that regex only.
 */
import type { RouteConfig, RoutesConfig } from '../config/routes-schema.ts';
import type { Catalogue } from './catalogue/index.ts';
import { headerPredicate, queryPredicate, type RequestPredicate } from './compile-conditions.ts';
import { LazyDfa } from './dfa.ts';
import { parseRegex, type RegexNode } from './dfa-regex.ts';
import type { RouteRequest } from './types.ts';

/** Methods admitted: any, or a list (possibly empty = none). */
type Methods = 'any' | readonly string[];

/** One path alternative of a route: a regex and the methods its catalogue entry allows. */
interface Endpoint {
  readonly regex: number;
  readonly methods: Methods;
}

/** A regex the DFA cannot run, tested with RegExp for its route. */
interface FallbackPath {
  readonly re: RegExp;
  readonly methods: Methods;
}

/** A route still possible once the path is known. */
interface Candidate {
  readonly route: number;
  /** Methods for which a DFA-matched regex (or "any path") satisfies the path condition. */
  readonly methods: Methods;
  readonly fallbacks: readonly FallbackPath[];
  readonly conditions: readonly RequestPredicate[];
}

interface RoutePlan {
  readonly anyPath: boolean;
  readonly endpoints: readonly Endpoint[];
  readonly routeMethods: Methods;
  readonly conditions: readonly RequestPredicate[];
}

/** Options of the compiler. */
export interface CompileOptions {
  /** DFA state cache size (see LazyDfaOptions). */
  readonly maxDfaStates?: number;
}

/** Which route wins for a request; the compiled equivalent of `sequentialMatch`. */
export interface PathMatcher {
  /** Index of the first matching route, or -1. */
  match(req: RouteRequest): number;
  /** Distinct path regexes, and how many of them need RegExp fallback. */
  readonly regexCount: number;
  readonly fallbackCount: number;
  /** DFA states built so far and cache flushes (benchmark, tests). */
  dfaStats(): { states: number; flushes: number };
}

function intersect(a: Methods, b: Methods): Methods {
  if (a === 'any') return b;
  if (b === 'any') return a;
  return a.filter((m) => b.includes(m));
}

function admits(m: Methods, method: string): boolean {
  return m === 'any' || m.includes(method);
}

/** Compiles the routes of `config` against `catalogue` (the release `config.synapse_version` names). */
export function compilePaths(config: RoutesConfig, catalogue: Catalogue, opts: CompileOptions = {}): PathMatcher {
  const sources: string[] = [];
  const ids = new Map<string, number>();
  const idOf = (src: string): number => {
    let id = ids.get(src);
    if (id === undefined) {
      id = sources.length;
      sources.push(src);
      ids.set(src, id);
    }
    return id;
  };
  const plans = config.routes.map((r) => planRoute(r, catalogue, idOf));
  const nodes = sources.map((s) => parseRegex(s));
  const dfaIds: number[] = []; // regex id → DFA id, -1 when it falls back
  const dfaNodes: RegexNode[] = [];
  nodes.forEach((n) => {
    dfaIds.push(n ? dfaNodes.length : -1);
    if (n) dfaNodes.push(n);
  });
  const fallbackRe = sources.map((s, i) => (nodes[i] ? null : new RegExp(s)));
  const memo = new Map<string, readonly Candidate[]>();
  const candidatesFor = (accepted: readonly number[]): readonly Candidate[] => {
    const key = accepted.join(',');
    let c = memo.get(key);
    if (!c) memo.set(key, (c = buildCandidates(plans, new Set(accepted), dfaIds, fallbackRe)));
    return c;
  };
  const dfa = new LazyDfa(dfaNodes, candidatesFor, { maxStates: opts.maxDfaStates });
  const recent = new RecentPaths((path, plain) => dfa.run(path, plain));
  return {
    regexCount: sources.length,
    fallbackCount: fallbackRe.filter((r) => r !== null).length,
    dfaStats: () => ({ states: dfa.stateCount, flushes: dfa.flushes }),
    match(req: RouteRequest): number {
      const cands = recent.get(req.path, req.plainPath === true);
      for (let i = 0; i < cands.length; i++) {
        const c = cands[i]!;
        if (candidateHolds(c, req)) return c.route;
      }
      return -1;
    },
  };
}

/** Slots of RecentPaths (a power of two). */
const RECENT_SLOTS = 256;

/**
 * A direct-mapped memo of path → candidates in front of the DFA. The answer depends on the path
 * alone, and a few paths carry most traffic (every client's `/sync`, busy rooms' `/messages`),
 * so a slot probe (a hash of the length and two code units, then one string compare) replaces a
 * walk of the whole path for them; a miss costs the probe and overwrites the slot.
 */
class RecentPaths {
  private readonly paths: string[] = new Array<string>(RECENT_SLOTS).fill('\0');
  private readonly answers: (readonly Candidate[])[] = new Array<readonly Candidate[]>(RECENT_SLOTS).fill([]);
  private readonly compute: (path: string, plain: boolean) => readonly Candidate[];

  constructor(compute: (path: string, plain: boolean) => readonly Candidate[]) {
    this.compute = compute;
  }

  /** The candidates for `path`; `plain` as RouteRequest.plainPath. */
  get(path: string, plain: boolean): readonly Candidate[] {
    const n = path.length;
    const slot = n === 0 ? 0 : (n * 31 + path.charCodeAt(n - 1) * 7 + path.charCodeAt(n >> 1)) & (RECENT_SLOTS - 1);
    if (this.paths[slot] === path) return this.answers[slot]!;
    const answer = this.compute(path, plain);
    this.paths[slot] = path;
    this.answers[slot] = answer;
    return answer;
  }
}

function candidateHolds(c: Candidate, req: RouteRequest): boolean {
  if (!admits(c.methods, req.method)) {
    let ok = false;
    for (const f of c.fallbacks) if (admits(f.methods, req.method) && f.re.test(req.path)) ok = true;
    if (!ok) return false;
  }
  const conds = c.conditions;
  for (let i = 0; i < conds.length; i++) if (!conds[i]!(req)) return false;
  return true;
}

function planRoute(r: RouteConfig, catalogue: Catalogue, idOf: (src: string) => number): RoutePlan {
  const m = r.match;
  const routeMethods: Methods = m.methods ?? 'any';
  const endpoints: Endpoint[] = [];
  for (const g of m.groups ?? []) {
    const entries = catalogue.group(g);
    if (entries === undefined) throw new Error(`route '${r.name}': unknown endpoint group '${g}'`);
    for (const e of entries) endpoints.push({ regex: idOf(e.regex), methods: intersect(e.methods ?? 'any', routeMethods) });
  }
  for (const p of m.paths ?? []) endpoints.push({ regex: idOf(p), methods: routeMethods });
  const conditions = [
    ...Object.entries(m.query ?? {}).map(([k, v]) => queryPredicate(k, v)),
    ...Object.entries(m.headers ?? {}).map(([k, v]) => headerPredicate(k, v)),
  ];
  const anyPath = (m.groups ?? []).length === 0 && (m.paths ?? []).length === 0;
  return { anyPath, endpoints, routeMethods, conditions };
}

/** The routes still possible when exactly the regexes in `accepted` (DFA ids) match the path. */
function buildCandidates(plans: readonly RoutePlan[], accepted: ReadonlySet<number>, dfaIds: readonly number[], fallbackRe: readonly (RegExp | null)[]): Candidate[] {
  const out: Candidate[] = [];
  for (let route = 0; route < plans.length; route++) {
    const p = plans[route]!;
    let methods: Methods = p.anyPath ? p.routeMethods : [];
    const fallbacks: FallbackPath[] = [];
    for (const e of p.endpoints) {
      const re = fallbackRe[e.regex];
      if (re) fallbacks.push({ re, methods: e.methods });
      else if (accepted.has(dfaIds[e.regex]!)) methods = union(methods, e.methods);
    }
    if (methods !== 'any' && methods.length === 0 && fallbacks.length === 0) continue;
    out.push(Object.freeze({ route, methods, fallbacks, conditions: p.conditions }));
    // Nothing after an unconditional route for every method can ever be reached.
    if (methods === 'any' && p.conditions.length === 0) break;
  }
  return out; // not frozen: match() indexes it per request (see the servers list in table.ts)
}

function union(a: Methods, b: Methods): Methods {
  if (a === 'any' || b === 'any') return 'any';
  return [...new Set([...a, ...b])];
}
