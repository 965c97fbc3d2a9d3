/**
 * Starts one homeserver process from a validated config: pool, schema (main migrates, workers
 * wait), replication bus, the writers this instance is named for, and one HTTP server per
 * listener whose router holds exactly the routes that listener's resources and this process's
 * role allow. Returns a handle that stops everything it started.
 */
import type { Server } from 'node:http';
import pino, { type Logger } from 'pino';
import type { HomeserverConfig, Listener } from './config/schema.ts';
import { deploymentOf, STREAMS } from './config/deployment.ts';
import type { Homeserver } from './context.ts';
import { openPool } from './storage/db.ts';
import { migrate, waitForSchema } from './storage/migrations.ts';
import { StreamPositions } from './streams/positions.ts';
import { Notifier } from './streams/notifier.ts';
import { ReplicationBus } from './replication/bus.ts';
import { ReplicationClient } from './replication/client.ts';
import { EventPersister } from './rooms/persister.ts';
import { LocalStreamWriter } from './streams/writers.ts';
import { Router } from './http/router.ts';
import { listen, portOf } from './http/server.ts';
import { allRoutes } from './api/index.ts';
import type { RouteDef } from './http/types.ts';
import { InvalidatingCache } from './cache.ts';
import { RoomWindows, eventFromRow } from './sync/window.ts';
import type { ReplicationBus as Bus } from './replication/bus.ts';
import type { Caches } from './context.ts';

/** Builds the caches and subscribes them to replication. */
function wireCaches(bus: Bus): Caches {
  const caches: Caches = {
    tokens: new InvalidatingCache(50_000, 5 * 60_000),
    roomVisibility: new InvalidatingCache(20_000, 10 * 60_000),
    oneTimeKeys: new InvalidatingCache(50_000, 60_000),
    toDeviceAcked: new Map(),
    syncRooms: new Map(),
    windows: new RoomWindows(),
    filters: new InvalidatingCache(10_000, Infinity),
  };
  bus.onInvalidate('tokens', () => caches.tokens.clear());
  bus.onInvalidate('one_time_keys', (k) => caches.oneTimeKeys.invalidate(k));
  bus.onRow((stream, row, token) => {
    if (stream !== 'events') return;
    if (row.type === 'm.room.history_visibility' && typeof row.room_id === 'string') caches.roomVisibility.invalidate(row.room_id);
    const e = eventFromRow(token, row);
    if (e) caches.windows.add(e);
    else if (typeof row.room_id === 'string') caches.windows.clear();
  });
  bus.onReset(() => { caches.roomVisibility.clear(); caches.oneTimeKeys.clear(); caches.tokens.clear(); caches.syncRooms.clear(); caches.windows.clear(); });
  return caches;
}

/** A running process. */
export interface RunningHomeserver {
  hs: Homeserver;
  /** Bound ports, one per listener address, in listener order. */
  ports: number[];
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
}

/** Routes a listener serves, given its resources and the process role. */
export function routesFor(all: readonly RouteDef[], listener: Listener, isMain: boolean): RouteDef[] {
  const names = new Set(listener.resources.flatMap((r) => r.names));
  return all.filter((r) => {
    if (r.path === '/health') return true;
    if (r.placement === 'replication') return names.has('replication');
    if (!names.has('client')) return false;
    return r.placement === 'any' || isMain;
  });
}

/** Starts the process described by `config`. */
export async function startHomeserver(config: HomeserverConfig, opts: StartOptions = {}): Promise<RunningHomeserver> {
  const deployment = deploymentOf(config);
  const log = opts.log ?? pino({ name: deployment.instanceName, level: process.env.SWITCHYARD_LOG_LEVEL ?? 'info' });
  if (config.enable_registration && !config.enable_registration_without_verification) {
    throw new Error('enable_registration is true without email or captcha verification: set enable_registration_without_verification: true to allow open registration (as Synapse requires)');
  }
  const pool = openPool(config, `switchyard-${deployment.instanceName}`);
  pool.on('error', (err) => log.warn({ err: String(err) }, 'idle database connection failed'));
  const positions = new StreamPositions(deployment.writers);
  const notifier = new Notifier();
  const writes = STREAMS.filter((s) => deployment.writes(s));
  const redis = config.redis.enabled ? { host: config.redis.host, port: config.redis.port, password: config.redis.password, dbid: config.redis.dbid } : undefined;
  const bus = new ReplicationBus({ instance: deployment.instanceName, channel: config.server_name, pool, positions, notifier, writes, redis, log });
  try {
    if (deployment.isMain) await migrate(pool);
    else await waitForSchema(pool);
    await bus.start();
  } catch (err) {
    // A failed migration or replication start must not leave the pool, Redis or timers holding
    // the process (or a test that started it) open.
    await bus.stop().catch(() => undefined);
    await pool.end();
    throw err;
  }
  const hs: Homeserver = {
    deployment, config, serverName: config.server_name, pool, log, positions, notifier, bus,
    replication: new ReplicationClient(deployment),
    persister: deployment.writes('events') ? new EventPersister(pool, bus, deployment.instanceName) : undefined,
    streamWriter: writes.some((s) => s !== 'events') ? new LocalStreamWriter(pool, bus) : undefined,
    caches: wireCaches(bus),
  };
  const servers: Server[] = [];
  const stop = async () => {
    for (const s of servers) { s.closeAllConnections(); s.close(); }
    hs.notifier.wakeAll();
    hs.streamWriter?.stop();
    await bus.stop();
    await hs.replication.close();
    await pool.end();
  };
  const all = allRoutes(hs);
  try {
    for (const l of deployment.listeners.filter((x) => x.type === 'http')) {
      const router = new Router();
      for (const r of routesFor(all, l, deployment.isMain)) router.add(r);
      for (const host of l.bind_addresses ?? ['0.0.0.0']) servers.push(await listen(hs, router, l.port, host));
    }
  } catch (err) {
    await stop(); // e.g. EADDRINUSE: release the pool, Redis and timers before reporting it
    throw err;
  }
  log.info({ instance: deployment.instanceName, ports: servers.map(portOf), writes }, 'homeserver started');
  return { hs, ports: servers.map(portOf), stop };
}
