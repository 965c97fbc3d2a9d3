/**
 * A small router: patterns compiled once to anchored regexes, matched against the raw path (so a
 * percent-encoded `/` inside a room ID or state key never splits a segment), parameters decoded
 * after matching. Hand-written rather than find-my-way: the table is ~80 routes, the matching cost
 * is far below the PostgreSQL round trip each request makes, and we need two Matrix-specific
 * behaviours (`{v}` for the r0/v3 spellings, a trailing `*rest` for state keys containing slashes)
 * plus the 404-vs-405 distinction that gateway drift safety reads (issue 5, point 6).
 */
import type { RouteDef } from './types.ts';

/** A compiled route. */
interface Compiled {
  def: RouteDef;
  re: RegExp;
  names: string[];
}

/** Result of a lookup: a route and its decoded params, `method_not_allowed`, or null (unknown path). */
export type Match = { def: RouteDef; params: Record<string, string> } | 'method_not_allowed' | null;

/** `{v}` = r0|v3 (and api/v1 where Synapse kept it); `:name` = one segment; `*name` = the rest. */
export function compilePattern(pattern: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const body = pattern
    .split('/')
    .map((seg) => {
      if (seg === '{v}') return '(?:r0|v3|api/v1)';
      if (seg === '{v3}') return '(?:r0|v3)';
      if (seg.startsWith(':')) { names.push(seg.slice(1)); return '([^/]+)'; }
      if (seg.startsWith('*')) { names.push(seg.slice(1)); return '?(.*)'; }
      return seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { re: new RegExp(`^${body}$`), names };
}

/** The route table of one process. */
export class Router {
  readonly #routes: Compiled[] = [];

  add(def: RouteDef): void {
    const { re, names } = compilePattern(def.path);
    this.#routes.push({ def, re, names });
  }

  /** First route whose pattern and method match; method_not_allowed when only the path matches. */
  match(method: string, path: string): Match {
    let pathMatched = false;
    const m = method === 'HEAD' ? 'GET' : method;
    for (const r of this.#routes) {
      const hit = r.re.exec(path);
      if (!hit) continue;
      if (r.def.method !== m) { pathMatched = true; continue; }
      const params: Record<string, string> = {};
      for (let i = 0; i < r.names.length; i++) params[r.names[i]!] = safeDecode(hit[i + 1] ?? '');
      return { def: r.def, params };
    }
    return pathMatched ? 'method_not_allowed' : null;
  }
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}
