/**
 * Loopback tests shared by `check` (config/routes-checks.ts), `import-synapse`
 * (config/synapse/listeners.ts) and `loadtest` (gateway/loadtest/target.ts). Literal only: a name
 * other than `localhost` is never resolved here.
 */
import { isIP } from 'node:net';

/** True for a literal loopback address: 127.0.0.0/8, ::1 (and its IPv4-mapped form ::ffff:127.x). */
export function isLoopbackAddress(address: string): boolean {
  const h = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(h) === 4) return h.startsWith('127.');
  // The WHATWG URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(h);
  return false;
}

/** True for a literal loopback address or the literal name `localhost` (not `*.localhost`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || isLoopbackAddress(h);
}
