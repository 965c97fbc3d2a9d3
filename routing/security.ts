/**
 * The two built-in access rules, checked before any route (DESIGN.md "Policies"; issue 2 point 9,
 * issue 3 point 7). Neither can be configured away:
 * - `/_synapse/replication` is the workers' internal API (Synapse docs/workers.md: "the
 *   replication endpoints ... should not be exposed to the public internet"): never reachable
 *   from a public listener.
 * - `/_synapse/admin` is denied on a public listener unless the client address is in
 *   `access.admin_allow` (Synapse docs/reverse_proxy.md recommends not exposing the admin API).
 *
 * Synapse (Twisted) percent-decodes each path segment before resource lookup, so
 * `/_synapse/%72eplication/...` reaches the replication resource: the check looks at the raw
 * path and at its decoded form (decoded until stable, in case something behind us decodes
 * again), with runs of `/` collapsed. Matching is case-sensitive, as Synapse's is. The checks
 * are prefix checks without a segment boundary: they may deny a nonsense path such as
 * `/_synapse/replicationx`, which no Synapse serves; they never let a real one through.
 */
import type { CidrSet } from './cidr.ts';
import { clientIp } from './keys.ts';
import type { DenyReason, RouteRequest } from './types.ts';

/** Which kind of listener a request arrived on. */
export type ListenerKind = 'public' | 'admin';

const REPLICATION = '/_synapse/replication';
const ADMIN = '/_synapse/admin';

/**
 * Why `req` must be refused before routing, or null. On an admin listener nothing is denied
 * here. `trusted` are the trusted proxies (X-Forwarded-For is believed only from them).
 */
export function denyReason(req: RouteRequest, listener: ListenerKind, adminAllow: CidrSet, trusted: CidrSet): DenyReason | null {
  if (listener !== 'public') return null;
  const path = req.path;
  if (!mayNameSynapse(path)) return null;
  const forms = pathForms(path);
  if (forms.some((p) => p.startsWith(REPLICATION))) return 'replication';
  if (forms.some((p) => p.startsWith(ADMIN))) {
    return adminAllow.size > 0 && adminAllow.has(clientIp(req, trusted)) ? null : 'admin';
  }
  return null;
}

/**
 * Cheap pre-check for the hot path: false only when neither the raw path nor any decoded,
 * slash-collapsed form of it can start with `/_s` (first chars are visible and not `/`, `%`).
 */
function mayNameSynapse(path: string): boolean {
  let i = 0;
  while (path.charCodeAt(i) === 47) i++; // leading slashes (collapsed)
  const a = path.charCodeAt(i);
  if (a === 37) return true;
  if (a !== 95) return false; // '_'
  const b = path.charCodeAt(i + 1);
  return b === 115 || b === 37; // 's' or '%'
}

/** The raw path and its decoded forms, each with `/` runs collapsed. */
function pathForms(path: string): string[] {
  const forms = [collapse(path)];
  let cur = path;
  for (let round = 0; round < 4; round++) {
    const next = decodeLenient(cur);
    if (next === cur) break;
    forms.push(collapse(next));
    cur = next;
  }
  return forms;
}

function collapse(p: string): string {
  return p.replace(/\/{2,}/g, '/');
}

/** Percent-decodes valid `%XX` escapes (as bytes, read as latin-1: only ASCII matters here). */
function decodeLenient(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
