/**
 * The Matrix traffic model behind `gateway simulate` and `gateway loadtest --scenario routing`
 * (issue 6). A request picks its category by the mix, then its user, room or remote server by
 * Zipf-distributed activity, and is built from strings prepared per entity, so a million requests
 * cost well under a second to generate.
 */
import type { RouteRequest } from '../types.ts';
import { CATEGORIES, DEFAULT_MIX, type Category, type Mix } from './mix.ts';
import { createRng, createZipf, type Rng } from './prng.ts';
import { buildRequest, type Draw } from './requests.ts';
import { createWorld, type World } from './world.ts';

/** The stickiness groups: whose requests the worker docs want on one server. */
export type StickyKind = 'user_sync' | 'user_initial_sync' | 'room_send' | 'room_pagination' | 'origin_federation';

/** Every sticky kind, in report order. */
export const STICKY_KINDS: readonly StickyKind[] = Object.freeze([
  'user_sync', 'user_initial_sync', 'room_send', 'room_pagination', 'origin_federation',
] as const);

/** One generated request. */
export interface GeneratedRequest {
  readonly category: Category;
  readonly req: RouteRequest;
  /** JSON body for PUT/POST (the loadtest sends it; routing never looks at it). */
  readonly body: string | null;
  /** Stickiness group id (see TrafficModel.group), or -1 when the request need not be sticky. */
  readonly sticky: number;
}

export interface TrafficOptions {
  users: number;
  rooms: number;
  origins: number;
  seed: string | number;
  mix?: Mix;
  /**
   * Zipf exponents of activity. Rooms (and remote servers) default to 1, the classic law: a few
   * rooms carry most messages. Users default to 0.8: every client long-polls /sync, so per-user
   * request rates are less skewed than per-room message rates.
   */
  zipfUsers?: number;
  zipfRooms?: number;
  /** The `timeout` of incremental syncs, ms (default 30000 as clients send; the loadtest uses 0 so nothing long-polls). */
  syncTimeoutMs?: number;
}

/** Default Zipf exponents (see TrafficOptions). */
export const DEFAULT_ZIPF_USERS = 0.8;
export const DEFAULT_ZIPF_ROOMS = 1;

/** A deterministic request stream plus the meaning of its stickiness group ids. */
export interface TrafficModel {
  readonly world: World;
  readonly mix: Mix;
  /** Number of stickiness group ids (ids are 0..groupCount-1). */
  readonly groupCount: number;
  next(): GeneratedRequest;
  /** What a group id stands for: its kind and key (localpart, room ID or origin server name). */
  group(id: number): { kind: StickyKind; key: string };
}

/** Builds a traffic model; the same options always yield the same request sequence. */
export function createTrafficModel(opts: TrafficOptions): TrafficModel {
  for (const [name, n] of [['users', opts.users], ['rooms', opts.rooms], ['origins', opts.origins]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${n}`);
  }
  const world = createWorld(opts);
  const mix = opts.mix ?? DEFAULT_MIX;
  const rng = createRng(`traffic:${opts.seed}`);
  const draw: Draw = {
    world, rng,
    userZipf: createZipf(opts.users, opts.zipfUsers ?? DEFAULT_ZIPF_USERS),
    roomZipf: createZipf(opts.rooms, opts.zipfRooms ?? DEFAULT_ZIPF_ROOMS),
    originZipf: createZipf(opts.origins, opts.zipfRooms ?? DEFAULT_ZIPF_ROOMS),
    offsets: groupOffsets(world),
    counter: 0,
    syncTimeout: String(opts.syncTimeoutMs ?? 30_000),
  };
  const cumulative = cumulativeShares(mix);
  return {
    world, mix,
    groupCount: draw.offsets.origin + world.origins.length,
    next: () => buildRequest(draw, pickCategory(rng, cumulative)),
    group: (id) => describeGroup(world, draw.offsets, id),
  };
}

/** Where each kind's group ids start: users' sync, users' initial sync, rooms' sends, rooms' pagination, origins. */
export interface GroupOffsets {
  readonly initialSync: number;
  readonly roomSend: number;
  readonly roomPagination: number;
  readonly origin: number;
}

function groupOffsets(world: World): GroupOffsets {
  const u = world.users.length, r = world.rooms.length;
  return { initialSync: u, roomSend: 2 * u, roomPagination: 2 * u + r, origin: 2 * u + 2 * r };
}

function describeGroup(world: World, o: GroupOffsets, id: number): { kind: StickyKind; key: string } {
  if (id < o.initialSync) return { kind: 'user_sync', key: world.users[id]!.localpart };
  if (id < o.roomSend) return { kind: 'user_initial_sync', key: world.users[id - o.initialSync]!.localpart };
  if (id < o.roomPagination) return { kind: 'room_send', key: world.rooms[id - o.roomSend]!.id };
  if (id < o.origin) return { kind: 'room_pagination', key: world.rooms[id - o.roomPagination]!.id };
  return { kind: 'origin_federation', key: world.origins[id - o.origin]!.name };
}

function cumulativeShares(mix: Mix): Float64Array {
  const out = new Float64Array(CATEGORIES.length);
  let sum = 0;
  CATEGORIES.forEach((c, i) => { sum += mix[c]; out[i] = sum; });
  return out;
}

function pickCategory(rng: Rng, cumulative: Float64Array): Category {
  const u = rng.next() * cumulative[cumulative.length - 1]!;
  for (let i = 0; i < cumulative.length - 1; i++) if (u < cumulative[i]!) return CATEGORIES[i]!;
  // Skip trailing zero-share categories so rounding never picks one.
  for (let i = CATEGORIES.length - 1; i > 0; i--) if (cumulative[i]! > cumulative[i - 1]!) return CATEGORIES[i]!;
  return CATEGORIES[0]!;
}

