/**
 * The gateway's own listeners against the Synapse processes it fronts: a gateway listener on the
 * address of a Synapse listener either cannot bind (the port is taken) or, when it could, would
 * proxy to itself. `import-synapse` refuses such a plan instead of writing a routes.yaml that
 * `serve` cannot run.
 */
import { DEFAULT_BIND_ADDRESSES } from './listeners.ts';
import type { ImportOptions, PlannedUpstream } from './model.ts';
import { SynapseConfigError, type Deployment } from './types.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

function norm(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/** True when a socket bound on `a` and one on `b` (same port) clash: equal hosts, or either is a wildcard. */
export function sameHost(a: string, b: string): boolean {
  const x = norm(a);
  const y = norm(b);
  if (x === '' || y === '' || DEFAULT_BIND_ADDRESSES.includes(x) || DEFAULT_BIND_ADDRESSES.includes(y)) return true;
  if (x === y) return true;
  // `localhost` resolves to 127.0.0.1 or ::1.
  return (x === 'localhost' && LOOPBACK_NAMES.has(y)) || (y === 'localhost' && LOOPBACK_NAMES.has(x));
}

/** host:port of an http:// URL (null for unix: sockets and anything else). */
function tcpAddress(url: string): { host: string; port: number } | null {
  const m = /^https?:\/\/(\[[^\]]*\]|[^/:]*):(\d+)$/.exec(url);
  return m ? { host: m[1]!, port: Number(m[2]) } : null;
}

/**
 * Throws SYNAPSE_IMPORT_USAGE when the public (--listen) or admin (--admin-listen) listener is the
 * address of a Synapse HTTP listener or of an emitted upstream server.
 */
export function checkGatewayAddresses(dep: Deployment, upstreams: readonly PlannedUpstream[], opts: ImportOptions): void {
  const gateway = [
    { flag: '--listen', what: 'public listener', ...opts.listen },
    { flag: '--admin-listen', what: 'admin listener', ...opts.admin },
  ];
  for (const g of gateway) {
    const at = `${g.host.includes(':') ? `[${g.host}]` : g.host}:${g.port}`;
    const hint = `pass ${g.flag} HOST:PORT with an address no Synapse process listens on (or move that Synapse listener to another port first)`;
    for (const p of [dep.main, ...dep.workers]) {
      for (const l of p.listeners) {
        if (l.unixPath !== undefined || !l.url.endsWith(`:${g.port}`)) continue;
        const clash = l.bindAddresses.find((b) => sameHost(g.host, b));
        if (clash === undefined) continue;
        throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE',
          `the gateway's ${g.what} ${at} (${g.flag}) is the address of ${p.name}'s Synapse listener (${l.file}:${l.line}, binds ${clash}:${g.port}): ` +
          `the gateway could not bind it, or would proxy to itself; ${hint}`);
      }
    }
    for (const u of upstreams) {
      for (const s of u.servers) {
        const t = tcpAddress(s.url);
        if (t === null || t.port !== g.port || !sameHost(g.host, t.host)) continue;
        throw new SynapseConfigError('SYNAPSE_IMPORT_USAGE',
          `the gateway's ${g.what} ${at} (${g.flag}) is the address of server '${s.name}' (${s.url}) in upstream '${u.name}': the gateway would proxy to itself; ${hint}`);
      }
    }
  }
}
