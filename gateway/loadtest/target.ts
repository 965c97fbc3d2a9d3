/**
 * Which targets a load test may hit. Load is only ever sent to this machine unless the operator
 * says otherwise with --allow-remote (TEAM rules; issue 6 point 3: "loopback targets by default").
 * Host names are not resolved: only `localhost` and literal loopback addresses count as local,
 * so a DNS answer can never turn a "local" test into a remote one.
 */
import { isIP } from 'node:net';
import { SimulateError } from '../../routing/simulate/errors.ts';

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped form ::ffff:127.x), `localhost` and `*.localhost` (RFC 6761 §6.3). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
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
