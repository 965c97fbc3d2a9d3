/**
 * Synapse HTTP listeners (`listeners` in the shared config for main, `worker_listeners` in a worker
 * file; configuration manual, "listeners"): which resources each serves and the URL the gateway
 * uses to reach it.
 */
import type { YamlSource } from '../yaml.ts';
import type { BoundListener, HttpListener, ImportWarning } from './types.ts';
import { isLoopbackHost } from '../hosts.ts';

/** Loopback test of a bind address (config/hosts.ts). */
export { isLoopbackHost as isLoopback } from '../hosts.ts';

/**
 * Synapse binds both `::` and `0.0.0.0` when a listener names no address
 * (synapse/config/server.py, DEFAULT_BIND_ADDRESSES).
 */
export const DEFAULT_BIND_ADDRESSES: readonly string[] = Object.freeze(['::', '0.0.0.0']);

/** Resources whose requests a reverse proxy forwards (the ones `import-synapse` routes). */
export const PUBLIC_RESOURCES: readonly string[] = Object.freeze(['client', 'federation', 'media']);

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The union of `resources[].names` of one listener. */
function resourceNames(l: Raw): Set<string> {
  const out = new Set<string>();
  const list = Array.isArray(l.resources) ? l.resources : [];
  for (const r of list) {
    if (!isObject(r) || !Array.isArray(r.names)) continue;
    for (const n of r.names) if (typeof n === 'string') out.add(n);
  }
  return out;
}

/**
 * `bind_addresses` plus `bind_address`, or Synapse's default: `::` and `0.0.0.0`, or `0.0.0.0` alone
 * for a metrics listener ("the metrics listener doesn't support IPv6", synapse/config/server.py).
 */
function bindAddresses(l: Raw, type = 'http'): string[] {
  const list = Array.isArray(l.bind_addresses) ? l.bind_addresses.filter((a): a is string => typeof a === 'string') : [];
  if (typeof l.bind_address === 'string' && l.bind_address !== '') list.push(l.bind_address);
  if (list.length > 0) return list;
  return type === 'metrics' ? ['0.0.0.0'] : [...DEFAULT_BIND_ADDRESSES];
}

/**
 * Every TCP listener of `key` (`listeners` or `worker_listeners`), whatever its type or `tls`:
 * the sockets the process binds. Unix-socket listeners (`path`) are left out.
 */
export function readSockets(src: YamlSource, key: string): BoundListener[] {
  const root = src.value as Raw;
  const list = Array.isArray(root[key]) ? (root[key] as unknown[]) : [];
  const out: BoundListener[] = [];
  list.forEach((item, i) => {
    if (!isObject(item) || (typeof item.path === 'string' && item.path !== '')) return;
    const port = typeof item.port === 'number' ? item.port : Number(item.port);
    if (!Number.isInteger(port) || port <= 0) return;
    const type = typeof item.type === 'string' ? item.type : 'http';
    out.push({ type, port, bindAddresses: bindAddresses(item, type), tls: pythonTruthy(item.tls), file: src.file, line: src.positionOf([key, i]).line });
  });
  return out;
}

/** The address to connect to for a bound address: wildcards become loopback; IPv6 gets brackets. */
export function connectHost(bound: string): string {
  if (bound === '0.0.0.0' || bound === '') return '127.0.0.1';
  if (bound === '::') return '[::1]';
  return bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
}

/** Prefers an IPv4 address (a dual-stack default binds both; IPv4 loopback is the usual choice). */
function pickHost(addresses: readonly string[]): string {
  const hosts = addresses.map(connectHost);
  return hosts.find((h) => !h.startsWith('[')) ?? hosts[0] ?? '127.0.0.1';
}

/** Resources the gateway routes to a process, `keys` included (main's /_matrix/key/). */
const ROUTED_RESOURCES: readonly string[] = Object.freeze([...PUBLIC_RESOURCES, 'keys']);

/** The HTTP listeners of one process: those the gateway can use, and the TLS ones it skipped. */
export interface ProcessListeners {
  readonly listeners: HttpListener[];
  /** `tls: true` listeners: the gateway connects only over plain http:// or unix:, so none is used. */
  readonly tls: HttpListener[];
}

/**
 * Parses the HTTP listeners of one process. `key` is `listeners` or `worker_listeners`; other
 * listener types (metrics, manhole) are ignored. Adds a security warning for a `replication`
 * resource bound to a non-loopback address (workers.md: "Under no circumstances should the
 * replication listener be exposed to the public internet"); `replicationSecret` says whether the
 * merged config sets worker_replication_secret(_path), which the message then reflects. A `tls: true` listener is left out
 * (the gateway has no TLS client) with a warning naming it, and the plain listener of the same
 * process that serves its resources instead, if there is one.
 */
export function readListeners(src: YamlSource, key: string, owner: string, warnings: ImportWarning[], replicationSecret = false): ProcessListeners {
  const root = src.value as Raw;
  const list = Array.isArray(root[key]) ? (root[key] as unknown[]) : [];
  const out: HttpListener[] = [];
  const tls: HttpListener[] = [];
  list.forEach((item, i) => {
    if (!isObject(item) || (item.type ?? 'http') !== 'http') return;
    const line = src.positionOf([key, i]).line;
    const listener = toListener(item, src.file, line);
    if (!listener) return;
    (listener.tls ? tls : out).push(listener);
    const exposed = listener.bindAddresses.filter((a) => !isLoopbackHost(a));
    if (listener.resources.has('replication') && exposed.length > 0) {
      warnings.push({
        code: 'replication_exposed', file: src.file, line,
        message: `security: ${owner}'s listener ${listener.url} serves the 'replication' resource and binds ${exposed.join(', ')}, which is not loopback; ` +
          (replicationSecret
            ? 'replication traffic is unencrypted (worker_replication_secret authenticates requests but does not encrypt them)'
            : 'replication traffic is unencrypted and, with no worker_replication_secret set, unauthenticated') +
          ' — bind it to 127.0.0.1 or a private interface behind a firewall',
      });
    }
  });
  for (const l of tls) {
    const routed = ROUTED_RESOURCES.filter((r) => l.resources.has(r));
    if (routed.length === 0) continue;
    const lost = routed.filter((r) => !out.some((p) => p.resources.has(r)));
    const instead = routed.filter((r) => !lost.includes(r)).map((r) => `'${r}' on ${out.find((p) => p.resources.has(r))!.url} (${src.file}:${out.find((p) => p.resources.has(r))!.line})`);
    const head = `${owner}'s listener ${l.url} has tls: true, which the gateway cannot connect to (it reaches upstreams over plain http:// or unix: only), so it is skipped`;
    warnings.push({
      code: 'tls_listener', file: src.file, line: l.line,
      message: lost.length === 0
        ? `${head}; the gateway uses ${instead.join(', ')} instead`
        : `${head}: no plain listener of ${owner} serves ${lost.map((r) => `'${r}'`).join(', ')}, so ${owner} gets no route for it` +
          `${instead.length > 0 ? ` (it uses ${instead.join(', ')})` : ''} — add a plain http listener bound to loopback or a private address for the gateway`,
    });
  }
  return { listeners: out, tls };
}

/**
 * Python truthiness: Synapse keeps `tls` as read (TCPListenerConfig has no validator) and tests it
 * with `if listener.tls`, so `tls: "y"` or `tls: 1` are TLS listeners too.
 */
function pythonTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0;
  return Boolean(v);
}

function toListener(item: Raw, file: string, line: number): HttpListener | null {
  const resources = resourceNames(item);
  if (typeof item.path === 'string' && item.path !== '') {
    // x_forwarded defaults to true on a unix socket, the only way Synapse gets a client address
    // there (synapse/config/server.py: listener.get("x_forwarded", True if socket_path else False));
    // an explicit value, false included, is used as written.
    const xForwarded = 'x_forwarded' in item ? pythonTruthy(item.x_forwarded) : true;
    return { url: `unix:${item.path}`, resources, bindAddresses: [], unixPath: item.path, xForwarded, file, line };
  }
  const port = typeof item.port === 'number' ? item.port : Number(item.port);
  if (!Number.isInteger(port) || port <= 0) return null;
  const addresses = bindAddresses(item);
  const tls = pythonTruthy(item.tls);
  return { url: `${tls ? 'https' : 'http'}://${pickHost(addresses)}:${port}`, resources, bindAddresses: addresses, xForwarded: pythonTruthy(item.x_forwarded), file, line, ...(tls ? { tls } : {}) };
}

/**
 * The listener a pool reaches this process on: the first that serves `resource`. `/_matrix/media/`
 * is mounted only by the `media` resource (synapse/app/generic_worker.py), so media pools need a
 * `media` listener; client pools a `client` one; federation pools a `federation` one.
 */
export function listenerFor(listeners: readonly HttpListener[], resource: 'client' | 'federation' | 'media'): HttpListener | undefined {
  return listeners.find((l) => l.resources.has(resource));
}

/** True when the process serves any resource a reverse proxy routes to. */
export function servesPublic(listeners: readonly HttpListener[]): boolean {
  return listeners.some((l) => PUBLIC_RESOURCES.some((r) => l.resources.has(r)));
}
