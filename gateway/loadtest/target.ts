/**
 * Which targets a load test may hit. Load is only ever sent to this machine unless the operator
 * says otherwise with --allow-remote (TEAM rules; issue 6 point 3: "loopback targets by default").
 * Only literal loopback addresses and the literal name `localhost` count as local. Other names,
 * `*.localhost` included, would go through the system resolver (nsswitch `files dns`), so a DNS
 * answer could turn a "local" test into a remote one. `localhost` itself is resolved through
 * loopbackLookup, which refuses any answer that is not a loopback address.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import { SimulateError } from '../../routing/simulate/errors.ts';
import { isLoopbackAddress, isLoopbackHost } from '../../config/hosts.ts';

export { isLoopbackAddress, isLoopbackHost } from '../../config/hosts.ts';

type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect that resolves through `resolve` (the system resolver by default)
 * and fails unless every address it returns is a loopback address. Literal IPs never reach it.
 */
export function loopbackLookup(resolve: Resolver = dnsLookup as unknown as Resolver) {
  return (hostname: string, options: { all?: boolean; family?: number | string } | number, callback: LookupCallback): void => {
    const opts = typeof options === 'object' && options !== null ? options : { family: options };
    resolve(hostname, { ...opts, all: true } as LookupAllOptions, (err, addresses) => {
      if (err) return callback(err, opts.all ? [] : '');
      const remote = addresses.filter((a) => !isLoopbackAddress(a.address));
      if (addresses.length === 0 || remote.length > 0) {
        const e = Object.assign(new Error(`${hostname} resolves to ${remote.map((a) => a.address).join(', ') || 'nothing'}, not a loopback address; pass --allow-remote to load a remote target`), { code: 'ENOTLOOPBACK' });
        return callback(e as NodeJS.ErrnoException, opts.all ? [] : '');
      }
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/**
 * undici `connect` options for a target: a connect timeout (undici ignores the abort signal while
 * connecting, so without it a black-holed SYN holds a run for undici's default 10 s) and, for
 * `localhost`, a lookup that only accepts loopback answers (a hosts file or resolver that maps it
 * elsewhere fails the connection instead).
 */
export function connectOptions(target: URL, timeoutMs: number): { timeout: number; lookup?: ReturnType<typeof loopbackLookup> } {
  return target.hostname.toLowerCase() === 'localhost' ? { timeout: timeoutMs, lookup: loopbackLookup() } : { timeout: timeoutMs };
}

/** Parses --target; refuses non-HTTP URLs and, without allowRemote, anything not on loopback. */
export function checkTarget(raw: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SimulateError('bad_target', `--target ${raw}: not a URL (expected e.g. http://127.0.0.1:8008)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SimulateError('bad_target', `--target ${raw}: only http:// and https:// targets are supported`);
  }
  if (!allowRemote && !isLoopbackHost(url.hostname)) {
    throw new SimulateError('remote_target',
      `--target ${raw}: ${url.hostname} is not a loopback address; load tests only hit 127.0.0.0/8, ::1 and localhost unless you pass --allow-remote (and own the target)`);
  }
  return url;
}
