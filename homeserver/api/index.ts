/**
 * Every route module. To add an endpoint: add a RouteDef to the module of its area (or a new
 * homeserver/api/<area>.ts exporting `<area>Routes(hs)` and list it here), with `placement: 'any'`
 * only if docs/workers.md lists it for generic workers.
 */
import type { Homeserver } from '../context.ts';
import type { RouteDef } from '../http/types.ts';
import { authRoutes } from './auth.ts';
import { roomRoutes } from './rooms.ts';
import { eventRoutes } from './events.ts';
import { syncRoutes } from './sync.ts';
import { replicationRoutes } from './replication.ts';
import { profileRoutes } from './profile.ts';
import { ephemeralRoutes } from './ephemeral.ts';
import { directoryRoutes } from './directory.ts';
import { deviceRoutes } from './devices.ts';
import { pushRuleRoutes } from './pushrules.ts';

/** All routes, in match order. */
export function allRoutes(hs: Homeserver): RouteDef[] {
  return [
    ...authRoutes(hs), ...syncRoutes(hs), ...roomRoutes(hs), ...eventRoutes(hs), ...profileRoutes(hs),
    ...ephemeralRoutes(hs), ...directoryRoutes(hs), ...deviceRoutes(hs), ...pushRuleRoutes(), ...replicationRoutes(hs),
    { method: 'GET', path: '/health', auth: 'none', placement: 'any', handler: async () => ({ body: 'OK' }) },
  ];
}
