/**
 * Semantic checks of a schema-valid routes.yaml: the problems a schema cannot see because they
 * span the file (issue 2, point 5). Each finding is pinned to the YAML node it concerns and
 * carries a hint. Errors reject the file; warnings are reported by `gateway check` and at start.
 */
import { isIP } from 'node:net';
import { catalogueFor, SYNAPSE_VERSIONS, type Catalogue } from '../routing/catalogue/index.ts';
import type { RoutesConfig, ServerConfig } from './routes-schema.ts';
import { choiceHint, type ConfigIssue, type IssueCode } from './errors.ts';
import { shadowedRoutes } from './routes-shadow.ts';
import type { YamlSource } from './yaml.ts';
import { isLoopbackHost } from './hosts.ts';
import { valueAt } from './zod-issues.ts';
import type { z } from 'zod';

type Path = (string | number)[];

/** Findings to drop (those about stand-ins of parts the schema rejected: see routes-salvage.ts). */
export type Ignore = (path: readonly (string | number)[], code: IssueCode) => boolean;

/** Collects issues for one file. */
class Findings {
  readonly issues: ConfigIssue[] = [];
  readonly src: YamlSource;
  readonly ignore: Ignore;

  constructor(src: YamlSource, ignore: Ignore) {
    this.src = src;
    this.ignore = ignore;
  }

  add(severity: ConfigIssue['severity'], path: Path, code: IssueCode, message: string, hint?: string): void {
    if (this.ignore(path, code)) return;
    const pos = this.src.positionOf(path);
    this.issues.push({ file: this.src.file, ...pos, severity, code, message, ...(hint ? { hint } : {}) });
  }

  lineOf(path: Path): number {
    return this.src.positionOf(path).line;
  }
}

/** Every semantic error and warning of a schema-valid config. */
export function semanticIssues(config: RoutesConfig, src: YamlSource, ignore: Ignore = () => false): ConfigIssue[] {
  const f = new Findings(src, ignore);
  const catalogue = checkVersion(config, f);
  checkListeners(config, f);
  checkUpstreams(config, f);
  checkRoutes(config, f, catalogue);
  checkCidrs(config, f);
  if (catalogue) checkShadowing(config, f, catalogue);
  return f.issues;
}

/** `synapse_version` picks the catalogue; an unknown release is an error (groups differ by release). */
function checkVersion(config: RoutesConfig, f: Findings): Catalogue | null {
  try {
    return catalogueFor(config.synapse_version);
  } catch {
    f.add('error', ['synapse_version'], 'unknown_synapse_version', `unknown synapse_version '${config.synapse_version}'`,
      versionHint(config.synapse_version ?? ''));
    return null;
  }
}

function versionHint(v: string): string {
  const first = SYNAPSE_VERSIONS[0];
  const last = SYNAPSE_VERSIONS.at(-1);
  return `write MAJOR.MINOR of a release the catalogue knows (${first} to ${last})${v.split('.').length > 2 ? ', without the patch number' : ''}`;
}

/** Reports the second and later occurrences of a name; `where` is the path of each name node. */
function duplicates(names: readonly string[], where: (i: number) => Path, what: string, f: Findings, suffix = ''): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    const seen = first.get(name);
    if (seen === undefined) first.set(name, i);
    else f.add('error', where(i), 'duplicate_name', `duplicate ${what} '${name}'${suffix}`, `first defined at line ${f.lineOf(where(seen))}`);
  });
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * Listener names must be unique, no two listeners may bind the same port on overlapping
 * addresses, and an admin listener (status, metrics, reload) on a non-loopback address is a
 * warning: it exposes deployment topology to whoever can reach it.
 */
function checkListeners(config: RoutesConfig, f: Findings): void {
  const ls = config.listeners;
  duplicates(ls.map((l) => l.name), (i) => ['listeners', i, 'name'], 'listener name', f);
  ls.forEach((l, i) => {
    const clash = ls.findIndex((o, j) => j < i && o.port === l.port && l.port !== 0 &&
      (o.host === l.host || WILDCARD.has(o.host) || WILDCARD.has(l.host)));
    if (clash >= 0) {
      f.add('error', ['listeners', i, 'port'], 'duplicate_port', `listener '${l.name}' binds port ${l.port}, already bound by listener '${ls[clash]!.name}'`,
        `first bound at line ${f.lineOf(['listeners', clash, 'port'])}`);
    }
    if (l.kind === 'admin' && !isLoopbackHost(l.host)) {
      f.add('warning', ['listeners', i, 'host'], 'admin_exposed', `admin listener '${l.name}' is bound to ${l.host || 'every address'}, not a loopback address`,
        'bind it to 127.0.0.1 or ::1 (it exposes status, metrics and topology), or firewall it');
    }
  });
}

/**
 * Server names identify servers in logs, metrics and hash rings, so they are unique per upstream;
 * every server url must be one `serve` can connect to.
 */
function checkUpstreams(config: RoutesConfig, f: Findings): void {
  for (const [name, up] of Object.entries(config.upstreams)) {
    duplicates(up.servers.map((s) => s.name), (i) => ['upstreams', name, 'servers', i, 'name'], 'server name', f, ` in upstream '${name}'`);
    up.servers.forEach((s, i) => {
      const at: Path = ['upstreams', name, 'servers', i, 'url'];
      const target = serverTarget(s, name, at, f);
      if (target) checkNotListener(config, s, name, target, at, f);
    });
  }
  const known = Object.keys(config.upstreams);
  if (!known.includes(config.default_upstream)) {
    f.add('error', ['default_upstream'], 'unknown_upstream', `default_upstream '${config.default_upstream}' is not defined under upstreams`,
      choiceHint(config.default_upstream, known, 'upstreams'));
  }
}

/** Where a server listens, as gateway/pool.ts parseTarget connects to it. */
type Target = { readonly host: string; readonly port: number } | { readonly path: string };

const TLS_HINT = 'the gateway speaks plain HTTP/1.1 to upstreams (over loopback or a private network, or a UNIX socket) and has no TLS client; ' +
  "use the worker's plain http:// listener or unix:/path socket, and terminate TLS elsewhere";

/**
 * The schema issue at a server url written `scheme://...` with a scheme other than `http`, as an
 * `unsupported_scheme` issue with a hint; null for any other issue. The schema (Server.url)
 * accepts only `http://` and `unix:`, as gateway/pool.ts does: `check` must not pass a file that
 * `serve` then refuses ("only http:// and unix: upstreams are supported").
 */
export function unsupportedScheme(src: YamlSource, issue: z.core.$ZodIssue): ConfigIssue | null {
  const path = issue.path;
  if (issue.code !== 'invalid_format' || path.length !== 5 || path[0] !== 'upstreams' || path[2] !== 'servers' || path[4] !== 'url') return null;
  const at = path as Path;
  const url = valueAt(src.value, at);
  const scheme = typeof url === 'string' ? /^([A-Za-z][A-Za-z0-9+.-]*):\/\/[^/\s]+\/?$/.exec(url)?.[1] : undefined;
  if (scheme === undefined || scheme === 'http') return null;
  const name = valueAt(src.value, [...at.slice(0, 4), 'name']);
  const who = typeof name === 'string' ? `server '${name}'` : `server ${String(at[3])}`;
  const lower = scheme.toLowerCase();
  const hint = lower === 'http' ? 'write the scheme in lower case: http://'
    : lower === 'https' ? TLS_HINT
    : 'the gateway reaches upstreams only as http://host:port or unix:/path/to/socket (plain HTTP/1.1)';
  return { file: src.file, ...src.positionOf(at), severity: 'error', code: 'unsupported_scheme',
    message: `${who} in upstream '${String(at[1])}' has url scheme '${scheme}://', which the gateway cannot use`, hint };
}

/**
 * The target of a server url (gateway/pool.ts parseTarget), or null after reporting a url that
 * the schema's pattern lets through but that does not parse (e.g. port 99999).
 */
function serverTarget(s: ServerConfig, upstream: string, at: Path, f: Findings): Target | null {
  if (s.url.startsWith('unix:/')) return { path: s.url.slice('unix:'.length) };
  const who = `server '${s.name}' in upstream '${upstream}'`;
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    f.add('error', at, 'invalid_value', `${who} has an invalid url '${s.url}'`, 'expected http://host:port with a port from 1 to 65535');
    return null;
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port || 80) };
}

/** A host as the URL parser writes it (lower case, IPv6 compressed without brackets); '' stays ''. */
export function canonicalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === '') return '';
  try {
    const h = new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return bare.toLowerCase();
  }
}

/** Loopback, or the unspecified address (which connects to this machine): a host that is surely this machine. */
export function isLocalHost(host: string): boolean {
  const h = canonicalHost(host);
  return isLoopbackHost(h) || WILDCARD.has(h);
}

/**
 * The local addresses a connection to `host` (canonical) may land on: `localhost` resolves to
 * 127.0.0.1 or ::1; connecting to the unspecified address reaches loopback of the same family.
 */
function landsOn(host: string): string[] {
  if (host === 'localhost') return ['127.0.0.1', '::1'];
  if (host === '0.0.0.0' || host === '') return ['127.0.0.1'];
  if (host === '::') return ['::1'];
  return [host];
}

/**
 * Whether a socket bound to `listener` (canonical) accepts a connection to `address`. `0.0.0.0`
 * takes IPv4 only; `::` takes IPv6 and, as Linux binds it by default (net.ipv6.bindv6only=0, and
 * Node listens dual-stack), IPv4 too. Wildcards match only addresses known to be this machine's
 * (loopback): other names or addresses may be another host's.
 */
function accepts(listener: string, address: string): boolean {
  if (listener === '' || listener === '::') return isLoopbackHost(address);
  if (listener === '0.0.0.0') return isIP(address) === 4 && isLoopbackHost(address);
  if (listener === 'localhost') return address === '127.0.0.1' || address === '::1';
  return listener === address;
}

/**
 * Whether connecting to `server` (a server url's host) reaches a listener bound to `listener` on
 * the same port. A wildcard listener takes the local addresses of its family (`0.0.0.0` does not
 * take ::1; `::` takes 127.0.0.1 and ::1); `localhost` is 127.0.0.1 or ::1. A wildcard listener
 * is not matched against other names or addresses: whether they are this machine's is not
 * knowable from the file (`http://synapse:8008` is usually another container). `import-synapse`
 * uses the same rule for the server URLs it writes.
 */
export function reachesListener(listener: string, server: string): boolean {
  const l = canonicalHost(listener);
  return landsOn(canonicalHost(server)).some((a) => accepts(l, a));
}

/**
 * A server that is one of the gateway's own listeners: `serve` would fail to bind (when the
 * worker is there) or proxy to itself, health checks included, until it runs out of sockets.
 * Listeners are TCP only (host and port), so a `unix:` server cannot be one.
 */
function checkNotListener(config: RoutesConfig, s: ServerConfig, upstream: string, target: Target, at: Path, f: Findings): void {
  if ('path' in target) return;
  const j = config.listeners.findIndex((l, k) => l.port !== 0 && l.port === target.port && reachesListener(l.host, target.host) &&
    !f.ignore(['listeners', k], 'server_is_listener'));
  if (j < 0) return;
  const l = config.listeners[j]!;
  const written = typeof f.src.value === 'object' && f.src.value !== null && 'listeners' in f.src.value;
  const address = `${isIP(l.host) === 6 ? `[${l.host}]` : l.host}:${l.port}`;
  const where = written ? `move listener '${l.name}' (line ${f.lineOf(['listeners', j])}) to another port`
    : `declare \`listeners:\` on other ports: without them the gateway listens on ${config.listeners.map((d) => `${d.kind} ${d.host}:${d.port}`).join(' and ')}`;
  f.add('error', at, 'server_is_listener', `server '${s.name}' in upstream '${upstream}' is the gateway's own ${l.kind} listener '${l.name}' (${address})`,
    `the gateway would proxy to itself (health checks too); use the worker's own address and port, or ${where}`);
}

/** The JS RegExp error for `source`, or null when it compiles (the compiler uses no flags). */
export function regexError(source: string): string | null {
  try {
    new RegExp(source);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function checkRoutes(config: RoutesConfig, f: Findings, catalogue: Catalogue | null): void {
  const known = Object.keys(config.upstreams);
  duplicates(config.routes.map((r) => r.name), (i) => ['routes', i, 'name'], 'route name', f);
  config.routes.forEach((r, i) => {
    const at: Path = ['routes', i];
    if (!known.includes(r.upstream)) {
      f.add('error', [...at, 'upstream'], 'unknown_upstream', `route '${r.name}' sends to unknown upstream '${r.upstream}'`, choiceHint(r.upstream, known, 'upstreams'));
    }
    checkMatch(r.match, [...at, 'match'], f, catalogue);
    const m = r.match;
    if (!m.groups?.length && !m.paths?.length && !m.methods?.length && isEmpty(m.query) && isEmpty(m.headers)) {
      f.add('warning', [...at, 'match'], 'empty_match', `route '${r.name}' matches every request`,
        'routes after it are unreachable and default_upstream is never used; add groups, paths or a condition');
    }
  });
}

function isEmpty(o: object | undefined): boolean {
  return o === undefined || Object.keys(o).length === 0;
}

function checkMatch(m: RoutesConfig['routes'][number]['match'], at: Path, f: Findings, catalogue: Catalogue | null): void {
  for (const list of ['groups', 'paths', 'methods'] as const) {
    // An empty `methods` would match nothing and empty `groups`/`paths` everything: both surprise.
    if (m[list]?.length === 0) f.add('error', [...at, list], 'invalid_value', `empty ${list} list`, `remove '${list}' or list at least one entry`);
  }
  m.paths?.forEach((p, j) => {
    const err = regexError(p);
    if (err) f.add('error', [...at, 'paths', j], 'invalid_regex', `invalid regex: ${err}`, 'paths are ECMAScript regexes matched against the raw path');
  });
  for (const kind of ['query', 'headers'] as const) {
    for (const [name, cond] of Object.entries(m[kind] ?? {})) {
      if (typeof cond === 'object' && 'matches' in cond) {
        const err = regexError(cond.matches);
        if (err) f.add('error', [...at, kind, name, 'matches'], 'invalid_regex', `invalid regex: ${err}`);
      }
    }
  }
  if (!catalogue) return;
  m.groups?.forEach((g, j) => {
    if (catalogue.group(g)?.length) return;
    const exists = catalogue.group(g) !== undefined;
    f.add('error', [...at, 'groups', j], 'unknown_group',
      exists ? `group '${g}' has no endpoints in Synapse ${catalogue.version}` : `unknown endpoint group '${g}'`,
      choiceHint(g, catalogue.groupNames, 'groups'));
  });
}

/** Addresses in trusted_proxies and access.admin_allow must be real addresses with a valid prefix. */
function checkCidrs(config: RoutesConfig, f: Findings): void {
  const lists: [Path, readonly string[]][] = [[['trusted_proxies'], config.trusted_proxies], [['access', 'admin_allow'], config.access.admin_allow]];
  for (const [at, list] of lists) {
    list.forEach((cidr, i) => {
      const [addr = '', prefix] = cidr.split('/');
      const family = isIP(addr);
      const max = family === 6 ? 128 : 32;
      if (family === 0) f.add('error', [...at, i], 'invalid_cidr', `'${addr}' is not an IP address`);
      else if (prefix !== undefined && Number(prefix) > max) f.add('error', [...at, i], 'invalid_cidr', `prefix /${prefix} is longer than ${max} bits`);
    });
  }
}

/** A route that can never match because an earlier route takes every request it would. */
function checkShadowing(config: RoutesConfig, f: Findings, catalogue: Catalogue): void {
  for (const { route, by } of shadowedRoutes(config, catalogue)) {
    const b = config.routes[by]!;
    f.add('warning', ['routes', route, 'name'], 'shadowed_route',
      `route '${config.routes[route]!.name}' is never reached: every request it matches is taken by route '${b.name}'`,
      `route '${b.name}' is at line ${f.lineOf(['routes', by, 'name'])}; move this route above it or narrow that one`);
  }
}
