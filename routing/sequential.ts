/**
 * The reference semantics of routes.yaml matching (DESIGN.md "The routing model"; issue 2,
 * point 6): routes are tried in file order and the first whose conditions all hold wins; no
 * match means the default upstream. This evaluator is deliberately naive — it compiles every
 * regex and parses the whole query string on every call, sharing no code with the compiled
 * table (routing/table.ts) — so that the property test comparing the two means something. It is
 * also the "sequential" baseline of `make bench-routing`.
 *
 * A route matches when
 * - its path condition holds: some regex of its groups' catalogue entries (each entry's own
 *   method restriction applying to that entry) or of its `paths` tests true on the raw path
 *   (no query); a route with neither groups nor paths matches every path; a route whose groups
 *   are all empty in this Synapse release and that has no paths matches nothing;
 * - and its `methods` (when given) contain the method;
 * - and every query condition and every header condition holds (query names and values as
 *   Twisted's parse_qs decodes them, first occurrence; see routing/compile-conditions.ts).
 */
import type { MatchConfig, RoutesConfig, ValueCondition } from '../config/routes-schema.ts';
import { catalogueFor } from './catalogue/index.ts';
import type { RouteRequest } from './types.ts';

/** Index of the first route of `config` that matches `req`, or null (the default upstream serves it). */
export function sequentialMatch(config: RoutesConfig, req: RouteRequest): number | null {
  const catalogue = catalogueFor(config.synapse_version);
  for (let i = 0; i < config.routes.length; i++) {
    const m = config.routes[i]!.match;
    if (pathHolds(m, req, (g) => catalogue.group(g) ?? []) && methodHolds(m.methods, req.method)
      && conditionsHold(m.query, naiveQuery(req.query), false) && conditionsHold(m.headers, naiveHeaders(req), true)) return i;
  }
  return null;
}

interface PathEntry {
  readonly regex: string;
  readonly methods?: readonly string[];
}

function pathHolds(m: MatchConfig, req: RouteRequest, group: (name: string) => readonly PathEntry[]): boolean {
  const groups = m.groups ?? [];
  const paths = m.paths ?? [];
  if (groups.length === 0 && paths.length === 0) return true;
  for (const g of groups) {
    for (const e of group(g)) {
      if (methodHolds(e.methods, req.method) && new RegExp(e.regex).test(req.path)) return true;
    }
  }
  return paths.some((p) => new RegExp(p).test(req.path));
}

function methodHolds(methods: readonly string[] | undefined, method: string): boolean {
  return methods === undefined || methods.includes(method);
}

function conditionsHold(conds: Readonly<Record<string, ValueCondition>> | undefined, values: Map<string, string>, fold: boolean): boolean {
  for (const [name, cond] of Object.entries(conds ?? {})) {
    const v = values.get(fold ? name.toLowerCase() : name);
    let ok: boolean;
    if (cond === 'present') ok = v !== undefined;
    else if (cond === 'absent') ok = v === undefined;
    else if (cond === 'absent_or_empty') ok = !v;
    else if (cond === 'non_empty') ok = !!v;
    else if ('equals' in cond) ok = v === cond.equals;
    else ok = v !== undefined && new RegExp(cond.matches).test(v);
    if (!ok) return false;
  }
  return true;
}

/** Every query parameter, first value kept, decoded as Twisted's `parse_qs` does. */
function naiveQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of query.split(/[&;]/)) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const name = decodeForm(item.slice(0, eq));
    if (!out.has(name)) out.set(name, decodeForm(item.slice(eq + 1)));
  }
  return out;
}

function decodeForm(s: string): string {
  const raw = Buffer.from(s.replace(/\+/g, ' '), 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (raw[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(raw[i]!);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Headers by lower-case name; arrays joined with ", ". */
function naiveHeaders(req: RouteRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v);
  }
  return out;
}

/** Why one route did or did not take a request (for `gateway explain`). */
export interface RouteVerdict {
  readonly index: number;
  readonly name: string;
  readonly matched: boolean;
  /** The path regex that matched and the catalogue entry it came from; 'any' for a route without path conditions. */
  readonly path: 'any' | { readonly regex: string; readonly group?: string; readonly section?: string } | null;
  /** Conditions that held, in words. */
  readonly held: readonly string[];
  /** The first condition that failed, in words (absent when matched). */
  readonly failed?: string;
}

/** Describes a condition, e.g. `since is absent_or_empty`, `full_state equals "true"`. */
export function describeCondition(name: string, cond: ValueCondition): string {
  if (typeof cond === 'string') return `${name} is ${cond.replace(/_/g, ' ')}`;
  return 'equals' in cond ? `${name} equals ${JSON.stringify(cond.equals)}` : `${name} matches /${cond.matches}/`;
}

function pathVerdict(m: MatchConfig, req: RouteRequest, group: (name: string) => readonly (PathEntry & { group?: string; section?: string })[]): { path: RouteVerdict['path']; failed?: string } {
  const groups = m.groups ?? [];
  const paths = m.paths ?? [];
  if (groups.length === 0 && paths.length === 0) return { path: 'any' };
  let methodMiss: string | undefined;
  for (const g of groups) {
    for (const e of group(g)) {
      if (!new RegExp(e.regex).test(req.path)) continue;
      if (methodHolds(e.methods, req.method)) return { path: { regex: e.regex, group: g, section: e.section } };
      methodMiss ??= `path matches ${e.regex} (group ${g}), but that endpoint is ${e.methods!.join('/')}-only`;
    }
  }
  const p = paths.find((x) => new RegExp(x).test(req.path));
  if (p !== undefined) return { path: { regex: p } };
  const n = paths.length + groups.reduce((a, g) => a + group(g).length, 0);
  return { path: null, failed: methodMiss ?? `path matches none of its ${n} regexes${groups.length ? ` (groups ${groups.join(', ')})` : ''}` };
}

function conditionVerdicts(conds: Readonly<Record<string, ValueCondition>> | undefined, values: Map<string, string>, what: string, fold: boolean, held: string[]): string | undefined {
  for (const [name, cond] of Object.entries(conds ?? {})) {
    const v = values.get(fold ? name.toLowerCase() : name);
    const text = `${what} ${describeCondition(name, cond)}`;
    if (!conditionsHold({ [name]: cond }, values, fold)) return `${text}, but it is ${v === undefined ? 'absent' : JSON.stringify(v)}`;
    held.push(`${text} (${v === undefined ? 'absent' : JSON.stringify(v)})`);
  }
  return undefined;
}

/**
 * The sequential evaluation of `req` spelled out: one verdict per route, in order, up to and
 * including the route that takes it (all routes when none does).
 */
export function explainSequential(config: RoutesConfig, req: RouteRequest): RouteVerdict[] {
  const catalogue = catalogueFor(config.synapse_version);
  const query = naiveQuery(req.query);
  const headers = naiveHeaders(req);
  const out: RouteVerdict[] = [];
  for (const [index, r] of config.routes.entries()) {
    const m = r.match;
    const held: string[] = [];
    const pv = pathVerdict(m, req, (g) => catalogue.group(g) ?? []);
    let failed = pv.failed;
    if (failed === undefined && m.methods) {
      if (methodHolds(m.methods, req.method)) held.push(`method ${req.method} is one of ${m.methods.join(', ')}`);
      else failed = `method ${req.method} is not one of ${m.methods.join(', ')}`;
    }
    failed ??= conditionVerdicts(m.query, query, 'query parameter', false, held);
    failed ??= conditionVerdicts(m.headers, headers, 'header', true, held);
    out.push(failed === undefined ? { index, name: r.name, matched: true, path: pv.path, held } : { index, name: r.name, matched: false, path: pv.path, held, failed });
    if (failed === undefined) break;
  }
  return out;
}
