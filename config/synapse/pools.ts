/**
 * Pools: which processes serve which kind of traffic, from the inferred roles (./roles.ts) and
 * the listeners each process has. A pool member is reached on the listener that serves the
 * resource its traffic needs (`client`, `federation` or `media`).
 */
import { listenerFor } from './listeners.ts';
import { hasRole, isGeneric } from './roles.ts';
import type { Deployment, ImportWarning, Role, SynapseProcess } from './types.ts';

/** A listener resource a pool's traffic needs. */
export type PoolResource = 'client' | 'federation' | 'media';

/** One server of a pool. */
export interface PoolMember {
  readonly process: SynapseProcess;
  readonly url: string;
}

/**
 * The listener a pool reaches `p` on for `resource`. A `media` listener counts only where Synapse
 * loads the media repository (SynapseProcess.mediaRepo; the reader has warned about the others).
 */
function reach(p: SynapseProcess, resource: PoolResource): ReturnType<typeof listenerFor> {
  return resource === 'media' && !p.mediaRepo ? undefined : listenerFor(p.listeners, resource);
}

/** Builds pool members, dropping (with a warning) processes lacking a listener for `resource`. */
export function members(procs: readonly SynapseProcess[], resource: PoolResource, why: string, warnings: ImportWarning[]): PoolMember[] {
  const out: PoolMember[] = [];
  for (const p of procs) {
    const l = reach(p, resource);
    if (l) out.push({ process: p, url: l.url });
    else if (resource === 'media' && !p.mediaRepo && listenerFor(p.listeners, 'media')) continue;
    else {
      warnings.push({
        code: 'route_without_server', file: p.file,
        message: `${p.name} should serve ${why} but has no HTTP listener with the '${resource}' resource; it is left out of that route`,
      });
    }
  }
  return out;
}

/** The pools of a deployment; an empty array means "nothing dedicated: leave it to the fallback". */
export interface Pools {
  /** Generic workers with a client listener: the fallback for every client-side role. */
  readonly genericClient: readonly PoolMember[];
  readonly client: readonly PoolMember[];
  readonly sync: readonly PoolMember[];
  readonly initialSync: readonly PoolMember[];
  readonly eventCreator: readonly PoolMember[];
  readonly federationReader: readonly PoolMember[];
  readonly federationInbound: readonly PoolMember[];
  readonly media: readonly PoolMember[];
  readonly sso: readonly PoolMember[];
  readonly userDir: readonly PoolMember[];
}

/** Workers holding `role` from --role, worker_app or worker name (what asks for a route). */
function routable(dep: Deployment, role: Role): SynapseProcess[] {
  return dep.workers.filter((w) => w.roles.some((r) => r.role === role && r.source !== 'shared_config'));
}

/** Generic workers with a listener for `resource` (silently: they need not serve everything). */
function generic(dep: Deployment, resource: PoolResource): PoolMember[] {
  return dep.workers.filter((w) => isGeneric(w) && reach(w, resource))
    .map((w) => ({ process: w, url: reach(w, resource)!.url }));
}

function union(a: readonly PoolMember[], b: readonly PoolMember[]): PoolMember[] {
  const seen = new Set(a.map((m) => m.process.name));
  return [...a, ...b.filter((m) => !seen.has(m.process.name))];
}

/**
 * Computes every pool. Fallbacks follow workers.md: any generic worker can serve any documented
 * endpoint, so a role with no dedicated worker falls back to the generic workers; inbound
 * federation falls back to the federation readers (which served `/send/` as legacy
 * synapse.app.federation_reader).
 */
export function computePools(dep: Deployment, warnings: ImportWarning[]): Pools {
  const genericClient = generic(dep, 'client');
  const pick = (role: Role, res: PoolResource, why: string): PoolMember[] => members(routable(dep, role), res, why, warnings);
  const client = union(pick('client', 'client', 'client API requests'), genericClient);
  const sync = pick('sync', 'client', 'sync requests');
  const federationReader = union(pick('federation_reader', 'federation', 'federation requests'), generic(dep, 'federation'));
  const inbound = pick('federation_inbound', 'federation', 'inbound federation transactions');
  const eventCreator = pick('event_creator', 'client', 'event sending');
  // The shared config names a media/user-directory *background* worker; it joins the pool only
  // when it also has the listener (the setting alone does not mean it serves requests).
  const fromConfig = (role: Role, res: PoolResource): PoolMember[] =>
    dep.workers.filter((w) => hasRole(w, role) && reach(w, res)).map((w) => ({ process: w, url: reach(w, res)!.url }));
  return {
    genericClient,
    client,
    sync: sync.length > 0 ? sync : genericClient,
    initialSync: pick('initial_sync', 'client', 'initial sync requests'),
    eventCreator,
    federationReader,
    federationInbound: inbound.length > 0 ? inbound : federationReader,
    media: union(pick('media', 'media', 'media requests'), fromConfig('media', 'media')),
    sso: pick('sso', 'client', 'SSO logins'),
    userDir: union(pick('user_dir', 'client', 'user directory search'), fromConfig('user_dir', 'client')),
  };
}
