/**
 * `gateway explain --routes FILE` (issue 2, point 10): what the gateway would do with one request
 * (or a batch of them), without sending anything. The decision comes from the compiled table,
 * exactly as the data plane makes it (denials, first-match route, key, balancer pick with every
 * server assumed healthy); the plain-words explanation of which rule matched and why comes from
 * the reference sequential evaluation (routing/sequential.ts), which agrees with the table on
 * every request (test/routing/property.test.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, formatIssue } from '../../config/errors.ts';
import { loadRoutesFile } from '../../config/routes.ts';
import type { KeySpec, RoutesConfig } from '../../config/routes-schema.ts';
import { explainSequential, type RouteVerdict } from '../../routing/sequential.ts';
import { compileTable, type ListenerKind, type RoutingTable } from '../../routing/table.ts';
import type { Decision, RouteRequest } from '../../routing/types.ts';

/** One-line description for `gateway --help`. */
export const summary = 'show which route, key and server a request would get, and why';

/** `gateway explain --help`. */
export const help = `Usage: gateway explain --routes FILE --url URL [--method M] [-H 'Name: value']...
                       [--source-ip IP] [--listener public|admin] [--json]
       gateway explain --routes FILE --batch REQUESTS.jsonl

Decides one request the way the gateway would (built-in denials, then the first matching
route, its key extractor and balancer, all servers assumed healthy) and explains it in plain
words: which rule matched and why (the regex and its catalogue group and section, the
conditions that held), which key was extracted and from where, which server the policy picked,
and why each earlier route was skipped.

With --json, or in batch mode, prints one JSON line per request:
  {"route": NAME|null, "upstream": NAME, "server": NAME|null, "key": KEY|null, "policy": NAME}
and for a refused request {"route": null, "denied": "replication"|"admin", ...}.

Options:
  --routes FILE        the routes.yaml (required)
  --url URL            request target: a path with optional ?query, or a full http(s) URL;
                       the path is taken byte for byte, as the gateway matches it
  --method M           HTTP method (default GET)
  -H, --header 'N: v'  a request header (repeatable)
  --source-ip IP       the client's socket address (default 203.0.113.1, an outside client)
  --listener KIND      public (default) or admin
  --json               one JSON line instead of the explanation
  --batch FILE         one JSON object per line: {"method", "url", "headers": {...}, "source_ip",
                       "listener"}; prints one JSON line per request
  -h, --help           this text

Exit status: 0 explained, 1 invalid routes file or batch line, 2 usage error.`;

const DEFAULT_SOURCE_IP = '203.0.113.1';

interface Options {
  routes?: string | undefined;
  url?: string | undefined;
  method?: string | undefined;
  header?: string[] | undefined;
  'source-ip'?: string | undefined;
  listener?: string | undefined;
  json?: boolean | undefined;
  batch?: string | undefined;
}

/** Splits a request target into the raw path and query (a full URL loses scheme and authority; `#...` is dropped). */
export function splitTarget(url: string): { path: string; query: string } {
  let target = url;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(target);
  if (scheme) target = target.slice(scheme[0].length) || '/';
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** Builds a RouteRequest; header names are lower-cased and repeats joined with ", " (as node:http does). */
export function buildRequest(method: string, url: string, headers: Iterable<[string, string]>, sourceIp: string): RouteRequest {
  const h: Record<string, string> = {};
  for (const [name, value] of headers) {
    const k = name.trim().toLowerCase();
    h[k] = h[k] === undefined ? value : `${h[k]}, ${value}`;
  }
  return { method: method.toUpperCase(), ...splitTarget(url), headers: h, sourceIp };
}

/** The JSON line of one decision. */
export function decisionJson(d: Decision): Record<string, string | null> {
  const base = { route: d.route?.name ?? null } as Record<string, string | null>;
  if (d.denied) base.denied = d.denied;
  return Object.assign(base, { upstream: d.upstream, server: d.server?.name ?? null, key: d.key, policy: d.policy });
}

function parseHeaderArg(h: string): [string, string] {
  const colon = h.indexOf(':');
  if (colon <= 0) throw new Error(`-H '${h}': expected 'Name: value'`);
  return [h.slice(0, colon), h.slice(colon + 1).trim()];
}

function listenerOf(s: string | undefined): ListenerKind {
  if (s === undefined || s === 'public' || s === 'admin') return s ?? 'public';
  throw new Error(`--listener must be public or admin, not '${s}'`);
}

/** Runs `gateway explain`; resolves to the exit status. */
export async function run(argv: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseArgs({ args: argv, strict: true, options: {
      routes: { type: 'string' }, url: { type: 'string' }, method: { type: 'string' }, header: { type: 'string', short: 'H', multiple: true },
      'source-ip': { type: 'string' }, listener: { type: 'string' }, json: { type: 'boolean' }, batch: { type: 'string' },
    } }).values;
    if (!o.routes) throw new Error('--routes FILE is required');
    if (!o.batch === !o.url) throw new Error('give either --url URL or --batch FILE');
    listenerOf(o.listener);
  } catch (err) {
    console.error(`gateway explain: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  let table: RoutingTable;
  try {
    table = compileTable(loadRoutesFile(o.routes).config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) console.error(formatIssue(issue));
    return 1;
  }
  if (o.batch) return runBatch(table, o.batch);
  let req: RouteRequest;
  try {
    req = buildRequest(o.method ?? 'GET', o.url!, (o.header ?? []).map(parseHeaderArg), o['source-ip'] ?? DEFAULT_SOURCE_IP);
  } catch (err) {
    console.error(`gateway explain: ${(err as Error).message}`);
    return 2;
  }
  const listener = listenerOf(o.listener);
  const d = table.decide(req, listener);
  console.log(o.json ? JSON.stringify(decisionJson(d)) : explainInWords(table.config, req, listener, d));
  return 0;
}

const BatchLine = (v: unknown): { method: string; url: string; headers: [string, string][]; sourceIp: string; listener: ListenerKind } => {
  if (typeof v !== 'object' || v === null) throw new Error('expected a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r.url !== 'string') throw new Error('"url" must be a string');
  if (r.method !== undefined && typeof r.method !== 'string') throw new Error('"method" must be a string');
  if (r.source_ip !== undefined && typeof r.source_ip !== 'string') throw new Error('"source_ip" must be a string');
  const headers = Object.entries((r.headers ?? {}) as Record<string, unknown>).map(([k, val]): [string, string] => {
    if (typeof val !== 'string') throw new Error(`header "${k}" must be a string`);
    return [k, val];
  });
  return { method: r.method ?? 'GET', url: r.url, headers, sourceIp: r.source_ip ?? DEFAULT_SOURCE_IP, listener: listenerOf(r.listener as string | undefined) };
};

function runBatch(table: RoutingTable, file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`gateway explain: cannot read ${file}: ${(err as Error).message}`);
    return 1;
  }
  let status = 0;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const b = BatchLine(JSON.parse(line));
      console.log(JSON.stringify(decisionJson(table.decide(buildRequest(b.method, b.url, b.headers, b.sourceIp), b.listener))));
    } catch (err) {
      console.error(`${file}:${i + 1}: ${(err as Error).message}`);
      status = 1;
    }
  });
  return status;
}

/** Where a key of this kind was read from, for this request. */
function keySource(spec: KeySpec, req: RouteRequest, config: RoutesConfig): string {
  if (typeof spec === 'object') {
    if ('header' in spec) return `the ${spec.header} header`;
    if ('query' in spec) return `the ${spec.query} query parameter`;
    return `the ${spec.cookie} cookie`;
  }
  const behindProxy = config.trusted_proxies.length > 0 && req.headers['x-forwarded-for'] !== undefined;
  switch (spec) {
    case 'token_user':
      return req.headers.authorization ? 'the Authorization: Bearer header (for syt_ tokens, the localpart field)' : 'the access_token query parameter (for syt_ tokens, the localpart field)';
    case 'room_id':
      return 'the path segment after /rooms/, percent-decoded';
    case 'source_ip':
      return behindProxy ? 'X-Forwarded-For (the peer is a trusted proxy) or the socket address' : 'the socket address';
    case 'federation_origin':
      return 'the origin of the Authorization: X-Matrix header, else the source address';
    case 'path':
      return 'the request path';
  }
}

/**
 * The skipped routes: those whose path matched but a method or condition failed, each with its
 * reason; then those whose path did not match, named on one line (the first few).
 */
function describeSkips(skipped: readonly RouteVerdict[], earlier: boolean): string[] {
  if (skipped.length === 0) return [];
  const out = ['', `Skipped ${earlier ? 'earlier ' : ''}routes:`];
  const pathMiss = skipped.filter((v) => v.path === null && v.failed?.startsWith('path matches none'));
  for (const v of skipped) if (!pathMiss.includes(v)) out.push(`  #${v.index + 1} ${v.name}: ${v.failed}`);
  if (pathMiss.length > 0) {
    const names = pathMiss.slice(0, 10).map((v) => `#${v.index + 1} ${v.name}`).join(', ');
    out.push(`  the path matches none of the regexes of ${names}${pathMiss.length > 10 ? `, and ${pathMiss.length - 10} more` : ''}`);
  }
  return out;
}

/** The plain-words explanation of one decision. */
export function explainInWords(config: RoutesConfig, req: RouteRequest, listener: ListenerKind, d: Decision): string {
  const lines = [`${req.method} ${req.path}${req.query ? `?${req.query}` : ''} from ${req.sourceIp} on a ${listener} listener`, ''];
  if (d.denied === 'replication') return [...lines, 'Denied (replication): /_synapse/replication/ is the workers\' internal API and is never reachable from a public listener; the gateway answers 404.'].join('\n');
  if (d.denied === 'admin') return [...lines, 'Denied (admin): /_synapse/admin/ on a public listener needs the client address to be in access.admin_allow; the gateway answers 403.'].join('\n');
  const verdicts = explainSequential(config, req);
  const winner = verdicts.find((v) => v.matched);
  if (d.route) {
    lines.push(`Route: ${d.route.name} (#${d.route.index + 1} of ${config.routes.length}) → upstream ${d.upstream}`);
    const p = winner?.path;
    if (p === 'any') lines.push('  the route has no path condition: it matches every path');
    else if (p) lines.push(`  path matches ${p.regex}${p.group ? ` — catalogue group ${p.group}, section "${p.section}"` : ' — an explicit path regex of the route'}`);
    for (const h of winner?.held ?? []) lines.push(`  ${h}`);
    if (winner?.index !== d.route.index) lines.push('  (warning: the reference evaluation disagrees with the compiled table; please report this)');
  } else {
    lines.push(`Route: none of the ${config.routes.length} routes matches → default upstream ${d.upstream}`);
  }
  lines.push('', d.key === null ? `Key: none (policy ${d.policy}${d.route?.key || d.policy.includes('hash') || d.policy === 'synapse_shard' ? ', so its fallback applies' : ' needs no key'})` : `Key: ${JSON.stringify(d.key)}, from ${keySource((d.route ?? { key: null }).key ?? defaultKey(config), req, config)}`);
  lines.push(d.server ? `Server: ${d.server.name} (${d.server.url}), picked by ${d.policy}` : `Server: none available in ${d.upstream} (the gateway would answer 503)`);
  return [...lines, ...describeSkips(verdicts.filter((v) => !v.matched), d.route !== null)].join('\n');
}

function defaultKey(config: RoutesConfig): KeySpec {
  const b = config.upstreams[config.default_upstream]?.balance;
  return b && 'key' in b ? b.key : 'path';
}
