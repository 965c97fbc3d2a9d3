/**
 * The services one homeserver process runs, handed to route modules. Route modules use what they
 * need; the narrow helpers (sendEvents, writeStream) decide local-versus-remote so handlers never
 * care which process they run on.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Deployment } from './config/deployment.ts';
import type { HomeserverConfig } from './config/schema.ts';
import type { StreamPositions } from './streams/positions.ts';
import type { Notifier } from './streams/notifier.ts';
import type { ReplicationBus } from './replication/bus.ts';
import type { ReplicationClient } from './replication/client.ts';
import type { EventPersister, PersistRequest, PersistResult } from './rooms/persister.ts';
import type { LocalStreamWriter, StreamOp } from './streams/writers.ts';
import type { InvalidatingCache } from './cache.ts';
import type { RoomWindows } from './sync/window.ts';
import type { Filter } from './rooms/filter.ts';
import type { Requester } from './http/types.ts';

/** Per-process caches, each invalidated through replication (see app.ts for the wiring). */
export interface Caches {
  /** token hash → requester (null = unknown token). Cleared on any logout anywhere. */
  readonly tokens: InvalidatingCache<Requester | null>;
  /** room → history_visibility changes; dropped when an m.room.history_visibility row is seen. */
  readonly roomVisibility: InvalidatingCache<{ at: number; value: string }[]>;
  /** `user|device` → one-time key counts; dropped on upload/claim anywhere. */
  readonly oneTimeKeys: InvalidatingCache<Record<string, number>>;
  /** `user|device` → to-device position already deleted up to (acknowledged by a later since). */
  readonly toDeviceAcked: Map<string, number>;
  /**
   * user → joined rooms as of events position `at`, from the last sync build. Valid for any later
   * range the notifier history shows free of the user's `u:` rows (membership changes carry them).
   */
  readonly syncRooms: Map<string, { rooms: string[]; at: number }>;
  /** Recent events per room from replication rows (sync/window.ts). */
  readonly windows: RoomWindows;
  /**
   * Parsed sync filters: inline ones by their JSON text, stored ones by `user|filter_id` (a stored
   * filter never changes: the API has no update or delete), so a long-polling client's filter is
   * neither re-validated nor re-read on every request; at most 10,000, never expiring. Treated
   * as read-only.
   */
  readonly filters: InvalidatingCache<Filter>;
}

/** One process's services. */
export interface Homeserver {
  readonly deployment: Deployment;
  readonly config: HomeserverConfig;
  readonly serverName: string;
  readonly pool: pg.Pool;
  readonly log: Logger;
  readonly positions: StreamPositions;
  readonly notifier: Notifier;
  readonly bus: ReplicationBus;
  readonly replication: ReplicationClient;
  readonly persister: EventPersister | undefined;
  readonly streamWriter: LocalStreamWriter | undefined;
  readonly caches: Caches;
}

/** Persists events on the room's persister: here, or over HTTP replication. */
export async function sendEvents(hs: Homeserver, req: PersistRequest): Promise<PersistResult> {
  const owner = hs.deployment.eventPersisterFor(req.room_id);
  if (owner === hs.deployment.instanceName && hs.persister) return hs.persister.persist(req);
  return hs.replication.call<PersistResult>(owner, 'send_events', req);
}

/** Applies a stream write on the stream's writer: here, or over HTTP replication. */
export async function writeStream(hs: Homeserver, op: StreamOp): Promise<void> {
  if (hs.deployment.writes(op.stream) && hs.streamWriter) {
    await hs.streamWriter.apply(op);
    return;
  }
  await hs.replication.call(hs.deployment.writers[op.stream][0]!, `stream/${op.stream}`, op);
}

/** Waits until the events stream is readable up to `position` here (read-your-writes for a client). */
export async function waitForEventPosition(hs: Homeserver, position: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (hs.positions.safe('events') < position && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
}
