/**
 * What this process is, derived once from the validated config: its instance name, which streams
 * it writes, which instance persists a given room, where other instances listen. Frozen; nothing
 * downstream reads raw config for these questions.
 */
import { createHash } from 'node:crypto';
import type { HomeserverConfig, Listener } from './schema.ts';

/** Streams with writers (docs/workers.md "Stream writers"); `events` may have several. */
export type StreamName = 'events' | 'typing' | 'to_device' | 'account_data' | 'receipts' | 'presence' | 'device_lists';
export const STREAMS: readonly StreamName[] = ['events', 'typing', 'to_device', 'account_data', 'receipts', 'presence', 'device_lists'];

/** Synapse names the main process `master` in stream_writers; newer configs say `main`. */
export const MAIN_INSTANCE = 'main';

/** A process's role and the deployment's topology. */
export interface Deployment {
  readonly config: HomeserverConfig;
  readonly instanceName: string;
  readonly isMain: boolean;
  readonly listeners: readonly Listener[];
  /** Writers of each stream, in `stream_writers` order (main when unset). */
  readonly writers: Readonly<Record<StreamName, readonly string[]>>;
  /** Base URL of an instance's replication listener, from instance_map. */
  replicationUrl(instance: string): string | undefined;
  /** The events writer that owns a room (Synapse's sharding). */
  eventPersisterFor(roomId: string): string;
  writes(stream: StreamName): boolean;
}

function normalise(name: string): string {
  return name === 'master' ? MAIN_INSTANCE : name;
}

/**
 * Synapse's event-persister sharding (synapse/config/workers.py, ShardedWorkerHandlingConfig):
 * sha256 of the room ID read as a little-endian integer, modulo the number of writers, indexing
 * `stream_writers.events` in order.
 */
export function shardIndex(roomId: string, count: number): number {
  const digest = createHash('sha256').update(roomId, 'utf8').digest();
  // Little-endian: byte i has weight 256^i. Reduce modulo count as we go (Horner from the top).
  let rem = 0;
  for (let i = digest.length - 1; i >= 0; i--) rem = (rem * 256 + digest[i]!) % count;
  return rem;
}

/** Builds the frozen Deployment for a validated config. */
export function deploymentOf(config: HomeserverConfig): Deployment {
  const isMain = config.worker_app === undefined || config.worker_app === 'synapse.app.homeserver';
  const instanceName = isMain ? MAIN_INSTANCE : normalise(config.worker_name ?? 'worker');
  const writers = Object.fromEntries(
    STREAMS.map((s) => [s, (config.stream_writers[s] ?? [MAIN_INSTANCE]).map(normalise)]),
  ) as Record<StreamName, string[]>;
  const map = new Map(Object.entries(config.instance_map).map(([k, v]) => [normalise(k), v]));
  return Object.freeze({
    config,
    instanceName,
    isMain,
    listeners: isMain ? config.listeners : (config.worker_listeners ?? []),
    writers,
    replicationUrl(instance: string) {
      const loc = map.get(normalise(instance));
      return loc ? `${loc.tls ? 'https' : 'http'}://${loc.host}:${loc.port}` : undefined;
    },
    eventPersisterFor(roomId: string) {
      const list = writers.events;
      return list[shardIndex(roomId, list.length)]!;
    },
    writes(stream: StreamName) {
      return writers[stream].includes(instanceName);
    },
  });
}
