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
