/**
 * `gateway check --routes FILE [--json]` (issue 2, point 10): validates a routes.yaml and prints
 * every error as file:line:column (exit 1), or a summary of what each route does and any warnings
 * (exit 0). It works from the validated config and the endpoint catalogue alone, so it runs
 * without building the data plane.
 */
import { parseArgs } from 'node:util';
import { ConfigError, formatIssue, type ConfigIssue } from '../../config/errors.ts';
import { loadRoutesFile } from '../../config/routes.ts';
import type { Balance, KeySpec, RoutesConfig, RouteConfig, ValueCondition } from '../../config/routes-schema.ts';
import { catalogueFor, type Catalogue } from '../../routing/catalogue/index.ts';

/** One-line description for `gateway --help`. */
export const summary = 'validate a routes.yaml and summarise its routes';

/** `gateway check --help`. */
export const help = `Usage: gateway check --routes FILE [--json]

Validates FILE (YAML syntax, the routes.yaml schema, then whole-file checks: unknown upstreams,
unknown endpoint groups, invalid regexes, duplicate names and ports, unknown synapse_version) and
reports every problem at once as FILE:LINE:COLUMN: error: MESSAGE (hint: ...).

On success prints one row per route in evaluation order (first match wins): the route, what it
matches (catalogue groups, number of path regexes, methods, query/header conditions), the
upstream, the balance policy and key, and the servers; then any warnings (routes shadowed by an
earlier route, catch-all routes, an admin listener off loopback).

Options:
  --routes FILE   the routes.yaml to check (required)
  --json          print one JSON object: {"ok", "errors", "warnings", "routes"}
  -h, --help      this text

Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.`;

/** One summary row, also the `routes` element of --json output. */
export interface RouteSummary {
  route: string;
  match: string;
  regexes: number;
  upstream: string;
  policy: string;
  servers: string[];
}

/** Runs `gateway check`; resolves to the exit status (0 valid, 1 invalid, 2 usage). */
export async function run(argv: string[]): Promise<number> {
  let opts: { routes?: string | undefined; json?: boolean | undefined };
  try {
    opts = parseArgs({ args: argv, options: { routes: { type: 'string' }, json: { type: 'boolean' } }, strict: true }).values;
  } catch (err) {
    console.error(`gateway check: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  if (!opts.routes) {
    console.error(`gateway check: --routes FILE is required\n\n${help}`);
    return 2;
  }
  try {
    const loaded = loadRoutesFile(opts.routes);
    const rows = summarise(loaded.config);
    if (opts.json) print({ ok: true, errors: [], warnings: loaded.warnings, routes: rows });
    else printText(opts.routes, loaded.config, rows, loaded.warnings);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const errors = err.issues.filter((i) => i.severity === 'error');
    const warnings = err.issues.filter((i) => i.severity === 'warning');
    if (opts.json) print({ ok: false, errors, warnings, routes: [] });
    else {
      for (const i of err.issues) console.error(formatIssue(i));
      console.error(`${opts.routes}: ${count(errors.length, 'error')}, ${count(warnings.length, 'warning')}`);
    }
    return 1;
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The summary rows of a valid config: its routes in order, then the default upstream. */
export function summarise(config: RoutesConfig): RouteSummary[] {
  const catalogue = catalogueFor(config.synapse_version);
  const rows = config.routes.map((r) => routeRow(config, r, catalogue));
  const main = config.upstreams[config.default_upstream];
  rows.push({
    route: '(default)',
    match: 'everything else',
    regexes: 0,
    upstream: config.default_upstream,
    policy: main ? policyText(main.balance) : '',
    servers: main ? main.servers.map((s) => serverText(s)) : [],
  });
  return rows;
}

function routeRow(config: RoutesConfig, r: RouteConfig, catalogue: Catalogue): RouteSummary {
  const up = config.upstreams[r.upstream];
  const regexes = new Set<string>(r.match.paths ?? []);
  for (const g of r.match.groups ?? []) for (const e of catalogue.group(g) ?? []) regexes.add(e.regex);
  return {
    route: r.name,
    match: matchText(r, regexes.size),
    regexes: regexes.size,
    upstream: r.upstream,
    policy: policyText(r.balance ?? up?.balance),
    servers: up ? up.servers.map((s) => serverText(s)) : [],
  };
}

function matchText(r: RouteConfig, regexes: number): string {
  const m = r.match;
  const n = `${regexes} ${regexes === 1 ? 'regex' : 'regexes'}`;
  const groups = m.groups?.length ? `groups ${m.groups.join(',')}` : '';
  const paths = m.paths?.length ? count(m.paths.length, 'path') : '';
  const parts = [groups && paths ? `${groups} + ${paths} (${n})` : groups ? `${groups} (${n})` : paths ? n : 'any path'];
  if (m.methods?.length) parts.push(m.methods.join(','));
  for (const [name, c] of Object.entries(m.query ?? {})) parts.push(`?${name} ${conditionText(c)}`);
  for (const [name, c] of Object.entries(m.headers ?? {})) parts.push(`${name}: ${conditionText(c)}`);
  return parts.join('; ');
}

function conditionText(c: ValueCondition): string {
  if (typeof c === 'string') return c;
  return 'equals' in c ? `= ${JSON.stringify(c.equals)}` : `~ /${c.matches}/`;
}

function keyText(k: KeySpec): string {
  if (typeof k === 'string') return k;
  const [kind, name] = Object.entries(k)[0]!;
  return `${kind}:${name}`;
}

function policyText(b: Balance | undefined): string {
  if (!b) return '';
  if (b.policy === 'round_robin' || b.policy === 'least_outstanding') return b.policy;
  const bounded = b.policy === 'consistent_hash' && b.bounded_load !== undefined ? `, bounded ${b.bounded_load}` : '';
  return `${b.policy}(${keyText(b.key)}${bounded})`;
}

function serverText(s: RoutesConfig['upstreams'][string]['servers'][number]): string {
  const addr = s.url.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const extra = [s.weight !== 1 ? `w${s.weight}` : '', s.down ? 'down' : ''].filter(Boolean).join(',');
  return `${s.name}=${addr}${extra ? `(${extra})` : ''}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

function printText(file: string, config: RoutesConfig, rows: RouteSummary[], warnings: readonly ConfigIssue[]): void {
  const out: string[] = [`${file}: OK (synapse ${catalogueFor(config.synapse_version).version}, ${count(config.routes.length, 'route')}, ` +
    `${count(Object.keys(config.upstreams).length, 'upstream')}, ${count(warnings.length, 'warning')})`, ''];
  const head = ['ROUTE', 'MATCH', 'UPSTREAM', 'POLICY', 'SERVERS'];
  out.push(...table([head, ...rows.map((r) => [r.route, r.match, r.upstream, r.policy, r.servers.join(' ')])]));
  out.push('', 'listeners: ' + config.listeners.map((l) => `${l.name} ${l.host}:${l.port} (${l.kind})`).join(', '));
  const allow = config.access.admin_allow.length ? config.access.admin_allow.join(', ') : 'nobody';
  out.push(`always: /_synapse/replication/ denied on public listeners; /_synapse/admin/ on public listeners allowed for: ${allow}`);
  if (warnings.length) out.push('', ...warnings.map(formatIssue));
  console.log(out.join('\n'));
}
