/**
 * Seeded request generators for the routing property test and the routing benchmark: strings
 * that match a regex (a random walk over its parsed form), near misses of them, odd query
 * strings, headers, methods, and random route tables built from the catalogue.
 */
import { RoutesFile, type RoutesConfig } from '../../config/routes-schema.ts';
import { catalogueFor } from '../../routing/catalogue/index.ts';
import { parseRegex, type RegexNode } from '../../routing/dfa-regex.ts';
import type { RouteRequest } from '../../routing/types.ts';

/** mulberry32: a tiny seeded PRNG (no Math.random anywhere in the tests). */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const CHUNKS = ['!abc:example.org', '%21abc%3Aexample.org', '!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'm.room.message', '%24ev%3Ahs', '@alice:hs',
  '%40alice%3Ahs', 'x/y', '/', 'send', 'state', 'members', 'messages', '中文', '\u{1F600}', 'é', 'a%2Fb', 'txn1', 'r0', 'v3', '%', '%zz', '\u2028', '\n'];
const SINGLES = 'abcxyzAZ019/_-.!:%@$#~+=&;?\u00e9\u4e2d';

function inSet(set: Uint8Array, s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    const sym = u < 128 ? u : u === 0x2028 || u === 0x2029 ? 128 : 129;
    if (set[sym] !== 1) return false;
  }
  return true;
}

function pickChar(rng: Prng, set: Uint8Array): string {
  for (let k = 0; k < 8; k++) {
    const c = SINGLES[rng.below(SINGLES.length)]!;
    if (inSet(set, c)) return c;
  }
  const syms: number[] = [];
  for (let s = 0; s < set.length; s++) if (set[s] === 1) syms.push(s);
  if (syms.length === 0) return '';
  const s = rng.pick(syms);
  return s < 128 ? String.fromCharCode(s) : s === 128 ? '\u2028' : 'ü';
}

/** A random string that the regex `node` is likely to match (assertions are ignored). */
export function sample(rng: Prng, node: RegexNode): string {
  switch (node.kind) {
    case 'chars':
      return pickChar(rng, node.set);
    case 'seq':
      return node.items.map((n) => sample(rng, n)).join('');
    case 'alt':
      return sample(rng, rng.pick(node.items));
    case 'start':
    case 'end':
      return '';
    case 'repeat': {
      const hi = Math.min(node.max, node.min + 3);
      const n = node.min + rng.below(hi - node.min + 1);
      let out = '';
      for (let i = 0; i < n; i++) {
        const wide = node.item.kind === 'chars' && node.item.set.reduce((a, b) => a + b, 0) > 60;
        const chunk = wide && rng.chance(0.6) ? rng.pick(CHUNKS) : null;
        out += chunk !== null && node.item.kind === 'chars' && inSet(node.item.set, chunk) ? chunk : sample(rng, node.item);
      }
      return out;
    }
  }
}

const VERSION_SEGMENTS = ['/r0/', '/v3/', '/v4/', '/v1/', '/api/v1/', '/unstable/', '/v2/', '/unstable/org.matrix.msc/'];

/** A near miss of `path`: one edit that often crosses a regex boundary. */
export function mutate(rng: Prng, path: string): string {
  const i = rng.below(path.length + 1);
  switch (rng.below(10)) {
    case 0: return path.slice(0, i) + rng.pick([...SINGLES]) + path.slice(i + 1);
    case 1: return path.slice(0, i) + path.slice(i + 1);
    case 2: return path.slice(0, i) + rng.pick(CHUNKS) + path.slice(i);
    case 3: return path.endsWith('/') ? path.slice(0, -1) : path + '/';
    case 4: {
      const from = VERSION_SEGMENTS.find((v) => path.includes(v));
      return from ? path.replace(from, rng.pick(VERSION_SEGMENTS)) : path + rng.pick(VERSION_SEGMENTS);
    }
    case 5: return rng.pick(['/x', '/_matrix', '//', '/%5F', '']) + path;
    case 6: return path.slice(0, i) + path.slice(i, i + 1).toUpperCase() + path.slice(i + 1);
    case 7: {
      const c = path.charCodeAt(i);
      return Number.isNaN(c) ? path + '%2F' : path.slice(0, i) + '%' + c.toString(16).padStart(2, '0').toUpperCase() + path.slice(i + 1);
    }
    case 8: return path.replace('/', '//');
    default: return path + rng.pick(['x', '$', '?', '/extra', '%00']);
  }
}

const QUERY_ITEMS = ['since=', 'since', 'since=s72594_4483_1934', 'Since=x', 'since=a&since=', '%73ince=x', 'si%6Ece=', 'since=%20', 'since=+',
  'full_state=true', 'full_state=false', 'full_state=TRUE', 'full_state=tru%65', 'full_state', 'timeout=30000', 'filter=0', 'access_token=syt_YWxpY2U_abcdefghijabcdefghij_0A1B2C',
  'access_token=', 'set_presence=offline', 'dir=b', 'from=t1', 'limit=10', 'x=%zz', '=v', '&', ';since=z', 'since=%E4%B8%AD', 'since=%FF', 'a+b=c+d', 'q=%2B'];

const SYNC_ITEMS = ['since=', 'since', 'since=s1', 'since=%20', 'Since=s1', '%73ince=s1', 'full_state=true', 'full_state=false', 'full_state=tru%65', 'full_state', 'timeout=0'];
const SYNC_PATHS = ['/_matrix/client/v3/sync', '/_matrix/client/r0/sync', '/_matrix/client/unstable/sync', '/_matrix/client/v3/sync/', '/_matrix/client/v3/events',
  '/_matrix/client/r0/initialSync', '/_matrix/client/v3/rooms/!r:hs/initialSync', '/_matrix/client/v3/rooms/%21r%3Ahs/initialSync'];

/** A random, often odd, query string (often empty; half the time drawn from sync's parameters). */
export function sampleQuery(rng: Prng): string {
  const n = rng.below(5);
  const items = rng.chance(0.5) ? SYNC_ITEMS : QUERY_ITEMS;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(rng.pick(items));
  return parts.join(rng.chance(0.85) ? '&' : ';');
}

const HEADER_VALUES: Record<string, readonly (string | string[])[]> = {
  authorization: ['Bearer syt_YWxpY2U_abcdefghijabcdefghij_0A1B2C', 'Bearer mat_abc', 'X-Matrix origin="remote.example",key="ed25519:a",sig="x"', ''],
  'x-tenant': ['a', 'b', 'A', '', ['a', 'b']],
  'x-forwarded-for': ['1.2.3.4', '10.0.0.1, 1.2.3.4'],
  cookie: ['session=abc', 'x=1; session=def'],
};

/** Random headers (lower-case names, as node:http gives them). */
export function sampleHeaders(rng: Prng): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(HEADER_VALUES)) if (rng.chance(0.35)) out[name] = rng.pick(values);
  return out;
}

export const METHODS = ['GET', 'GET', 'GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];

/** Parsed regexes of every catalogue release we test, plus extra paths, for path generation. */
export function regexPool(extra: readonly string[] = []): RegexNode[] {
  const srcs = new Set<string>(extra);
  for (const v of ['1.67', '1.92', undefined]) for (const e of catalogueFor(v).entries) srcs.add(e.regex);
  return [...srcs].map((s) => parseRegex(s)).filter((n): n is RegexNode => n !== null);
}

/** The parsed regexes a table's routes use (their groups' entries and paths). */
export function tablePool(config: RoutesConfig): RegexNode[] {
  const cat = catalogueFor(config.synapse_version);
  const srcs = new Set<string>();
  for (const r of config.routes) {
    for (const g of r.match.groups ?? []) for (const e of cat.group(g) ?? []) srcs.add(e.regex);
    for (const p of r.match.paths ?? []) srcs.add(p);
  }
  return [...srcs].map((s) => parseRegex(s)).filter((n): n is RegexNode => n !== null);
}

/**
 * One random request: a sample of a regex (from `focus`, the table's own, 60 % of the time when
 * given, else from `pool`), often mutated, with odd query and headers.
 */
export function sampleRequest(rng: Prng, pool: readonly RegexNode[], focus: readonly RegexNode[] = []): RouteRequest {
  const from = focus.length > 0 && rng.chance(0.6) ? focus : pool;
  let path = rng.chance(0.05) ? rng.pick(['', '/', '/_matrix', '/_synapse/admin/v1/users', '/_synapse/replication/x'])
    : rng.chance(0.1) ? rng.pick(SYNC_PATHS) : sample(rng, rng.pick(from));
  if (rng.chance(0.1)) path = rng.pick(['/junk', '/_matrix/client/v3']) + path;
  if (rng.chance(0.4)) path = mutate(rng, path);
  if (rng.chance(0.1)) path = mutate(rng, path);
  return { method: rng.pick(METHODS), path, query: sampleQuery(rng), headers: sampleHeaders(rng), sourceIp: rng.pick(['10.0.0.1', '127.0.0.1', '::1']) };
}

/** Extra path regexes for generated tables, including ones the DFA must leave to RegExp. */
export const EXTRA_PATHS = ['^/_matrix/client/(r0|v3)/sync$', '/send/', 'initialSync$', '^/_matrix/(?!client)', '^/_matrix/client/v3/rooms/[^/]+/messages$',
  '\\bstate\\b', '^/_synapse/client/', 'media', '^/$', '(?<x>a|b)c{1,2}', '^/_matrix/client/(?:r0|v3)/keys/upload(/|$)', '\\s', 'x$|^/y', '[%!][0-9A-F]{2}'];

const CONDITIONS = ['present', 'absent', 'absent_or_empty', 'non_empty', { equals: 'true' }, { equals: '' }, { matches: '^s\\d+' }, { matches: 'a|b' }] as const;

/** A random route table over catalogue groups, extra paths, methods and conditions. */
export function randomTable(rng: Prng, version: string): RoutesConfig {
  const groups = catalogueFor(version).groupNames;
  const routes = [];
  const n = 3 + rng.below(14);
  for (let i = 0; i < n; i++) {
    const match: Record<string, unknown> = {};
    if (rng.chance(0.8)) match.groups = Array.from({ length: 1 + rng.below(3) }, () => rng.pick(groups));
    if (rng.chance(0.3)) match.paths = Array.from({ length: 1 + rng.below(2) }, () => rng.pick(EXTRA_PATHS));
    if (rng.chance(0.3)) match.methods = Array.from({ length: 1 + rng.below(2) }, () => rng.pick(['GET', 'PUT', 'POST', 'DELETE']));
    if (rng.chance(0.35)) match.query = { [rng.pick(['since', 'full_state', 'access_token', 'a b'])]: rng.pick(CONDITIONS) };
    if (rng.chance(0.15)) match.headers = { [rng.pick(['X-Tenant', 'authorization'])]: rng.pick(CONDITIONS) };
    routes.push({ name: `r${i}`, match, upstream: rng.pick(['main', 'pool']) });
  }
  return RoutesFile.parse({
    synapse_version: version,
    upstreams: { main: { servers: [{ name: 'm', url: 'http://127.0.0.1:1' }] }, pool: { servers: [{ name: 'p1', url: 'http://127.0.0.1:2' }, { name: 'p2', url: 'http://127.0.0.1:3' }] } },
    routes,
  });
}
