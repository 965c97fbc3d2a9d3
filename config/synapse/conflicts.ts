/**
 * The gateway's own listeners against the Synapse processes it fronts: a gateway listener on the
 * address of a Synapse listener either cannot bind (the port is taken) or, when it could, would
 * proxy to itself. `import-synapse` refuses such a plan instead of writing a routes.yaml that
 * `serve` cannot run.
 *
 * Synapse's bind addresses are compared only when Synapse runs on the gateway's machine: without
 * --upstream-host, or with a loopback one. An --upstream-host naming another host (Docker Compose's
 * `synapse` service, 10.0.0.1) means Synapse's sockets are that host's, so only the server URLs
 * the plan writes are compared, with the rule `gateway check` applies to them (reachesListener).
 */
import { isIP } from 'node:net';
import { canonicalHost, isLocalHost, reachesListener } from '../routes-checks.ts';
import type { ImportOptions, PlannedUpstream } from './model.ts';
import { SynapseConfigError, type Deployment } from './types.ts';

/** Address families a bind address covers: a name other than `localhost` may resolve to either. */
function families(host: string): number[] {
  const f = isIP(host);
  return f === 0 ? [4, 6] : [f];
}

/**
 * True when sockets bound on `a` and `b` (same port, same machine) clash. `::` is dual-stack on
 * Linux by default (net.ipv6.bindv6only=0; Synapse binds `::` then `0.0.0.0` and tolerates the
 * second failing), so it clashes with every address; `0.0.0.0` clashes with every IPv4 address
 * but not with an IPv6 one such as ::1; `localhost` is 127.0.0.1 and ::1.
 */
export function bindsClash(a: string, b: string): boolean {
  const x = canonicalHost(a);
  const y = canonicalHost(b);
  if (x === y) return true;
  for (const [p, q] of [[x, y], [y, x]] as const) {
    if (p === '' || p === '::') return true;
    if (p === '0.0.0.0' && (q === 'localhost' || families(q).includes(4))) return true;
    if (p === 'localhost' && (q === '127.0.0.1' || q === '::1')) return true;
  }
  return false;
}

/** host:port of an http:// URL (null for unix: sockets and anything else). */
function tcpAddress(url: string): { host: string; port: number } | null {
  const m = /^https?:\/\/(\[[^\]]*\]|[^/:]*):(\d+)$/.exec(url);
  return m ? { host: m[1]!, port: Number(m[2]) } : null;
}

/** host:port with IPv6 literals bracketed. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * Throws SYNAPSE_IMPORT_USAGE when the public (--listen) or admin (--admin-listen) listener is the
 * address of a Synapse listener on this machine (any type: http, metrics, manhole; TLS or not) or
 * of an emitted upstream server.
 */
export function checkGatewayAddresses(dep: Deployment, upstreams: readonly PlannedUpstream[], opts: ImportOptions): void {
  const local = opts.upstreamHost === undefined || isLocalHost(opts.upstreamHost);
  const gateway = [
    { flag: '--listen', what: 'public listener', ...opts.listen },
    { flag: '--admin-listen', what: 'admin listener', ...opts.admin },
  ];
  for (const g of gateway) {
    const at = hostPort(g.host, g.port);
    const hint = `pass ${g.flag} HOST:PORT with an address no Synapse process listens on (or move that Synapse listener to another port first)`;
    for (const p of local ? [dep.main, ...dep.workers] : []) {
      for (const l of p.sockets) {
        if (l.port !== g.port) continue;
        const clash = l.bindAddresses.find((b) => bindsClash(g.host, b));
        if (clash === undefined) continue;
        const kind = `${l.tls ? 'tls: true ' : ''}${l.type === 'http' ? '' : `${l.type} `}`;
        throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE',
          `the gateway's ${g.what} ${at} (${g.flag}) is the address of ${p.name}'s Synapse ${kind}listener (${l.file}:${l.line}, binds ${hostPort(clash, g.port)}): ` +
          `the gateway could not bind it, or would proxy to itself; ${hint}`);
      }
    }
    for (const u of upstreams) {
      for (const s of u.servers) {
        const t = tcpAddress(s.url);
        if (t === null || t.port !== g.port || !reachesListener(g.host, t.host)) continue;
        throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE',
          `the gateway's ${g.what} ${at} (${g.flag}) is the address of server '${s.name}' (${s.url}) in upstream '${u.name}': the gateway would proxy to itself; ${hint}`);
      }
    }
  }
}
