/**
 * The per-room parts of a sync response (spec: GET /sync, "Joined Room", "Left Room"): the
 * timeline with `limited` and `prev_batch`, the state before the timeline (everything for an
 * initial sync or a new join; the changes since `since` for a limited incremental one; lazily
 * loaded members when the filter asks), and the room's ephemeral events and account data.
 */
import type { Homeserver } from '../context.ts';
import type { Requester } from '../http/types.ts';
import { toClient, type StoredEvent } from '../rooms/event.ts';
import { matches, type Filter } from '../rooms/filter.ts';
import { filterVisible, loadVisibility } from '../rooms/visibility.ts';
import { roomEventsBackward, stateAt, visibilityHistory } from '../storage/events.ts';

/** What one room's section is built from. */
export interface RoomSyncInput {
  roomId: string;
  /** Lower bound (exclusive) of the timeline; 0 for a full section. */
  since: number;
  /** Upper bound (inclusive). */
  upTo: number;
  /** Full state (initial sync, full_state, new join) vs the delta. */
  full: boolean;
  /** Whether the user is joined at `upTo` (enables the visibility fast path). */
  joined: boolean;
}

/**
 * Visible events of a window. Fast path, no query: a joined user in a room whose history
 * visibility has only ever been `shared` or `world_readable` sees every event (rooms/visibility.ts).
 */
async function visibleOf(hs: Homeserver, roomId: string, userId: string, joined: boolean, window: StoredEvent[]): Promise<StoredEvent[]> {
  const history = await hs.caches.roomVisibility.get(roomId, () => visibilityHistory(hs.pool, roomId));
  if (joined && history.every((h) => h.value === 'shared' || h.value === 'world_readable')) return window;
  return filterVisible(await loadVisibility(hs.pool, roomId, userId), window);
}

/** Timeline and state of one room. */
export async function timelineAndState(hs: Homeserver, who: Requester, filter: Filter, input: RoomSyncInput) {
  const limit = filter.room?.timeline?.limit ?? 10;
  // Incremental: the replication-fed window usually holds (since, upTo] already (no query).
  const recent = input.full ? undefined : hs.caches.windows.range(input.roomId, input.since, input.upTo);
  const raw = recent && recent.length <= limit ? [...recent].reverse() : await roomEventsBackward(hs.pool, input.roomId, input.upTo, input.since, limit + 1);
  const limited = raw.length > limit;
  const window = raw.slice(0, limit).reverse();
  const timeline = (await visibleOf(hs, input.roomId, who.userId, input.joined, window)).filter((e) => matches(filter.room?.timeline, e));
  const startAt = window[0] ? window[0].stream_ordering - 1 : input.upTo;
  let state: StoredEvent[] = [];
  let before: StoredEvent[] | undefined;
  const stateBefore = async (): Promise<StoredEvent[]> => (before ??= await stateAt(hs.pool, input.roomId, startAt));
  if (input.full || limited) {
    const all = await stateBefore();
    state = input.full ? all : all.filter((e) => e.stream_ordering > input.since);
  }
  state = await lazyMembers(filter, state, timeline, who.userId, input.full, stateBefore);
  state = state.filter((e) => matches(filter.room?.state, e));
  const now = Date.now();
  const txnFor = `${who.userId}|${who.deviceId}`;
  return {
    timeline: { events: timeline.map((e) => toClient(e, now, txnFor)), limited, prev_batch: `s${startAt}` },
    state: { events: state.map((e) => toClient(e, now)) },
  };
}

/**
 * Lazy-loading members (spec: "Lazy-loading room members"): of the state's member events only the
 * timeline senders' and the requester's are kept; an incremental sync also gets the senders'
 * member events it lacks. `stateBefore` loads the state before the timeline once, when needed.
 */
async function lazyMembers(filter: Filter, state: StoredEvent[], timeline: StoredEvent[], me: string, full: boolean,
  stateBefore: () => Promise<StoredEvent[]>): Promise<StoredEvent[]> {
  if (!filter.room?.state?.lazy_load_members) return state;
  const senders = new Set(timeline.map((e) => e.sender));
  senders.add(me);
  const kept = state.filter((e) => e.type !== 'm.room.member' || senders.has(e.state_key ?? ''));
  if (full) return kept;
  // Incremental: the state delta misses senders whose membership predates `since`. No record is
  // kept of what each connection was sent, so (as Synapse does when it cannot tell) every
  // timeline sender whose member event is neither in the timeline nor in the state gets theirs
  // from the state before the timeline (redundant ones included).
  const have = new Set([...timeline, ...kept].filter((e) => e.type === 'm.room.member').map((e) => e.state_key));
  const missing = new Set(timeline.map((e) => e.sender).filter((s) => !have.has(s)));
  if (missing.size === 0) return kept;
  return [...kept, ...(await stateBefore()).filter((e) => e.type === 'm.room.member' && missing.has(e.state_key ?? ''))];
}

/** Stripped state shown with an invite (spec: "stripped state"). */
export async function inviteState(hs: Homeserver, roomId: string, upTo: number): Promise<unknown[]> {
  const keep = new Set(['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.canonical_alias', 'm.room.avatar', 'm.room.encryption', 'm.room.topic']);
  const state = await stateAt(hs.pool, roomId, upTo);
  return state
    .filter((e) => keep.has(e.type) || e.type === 'm.room.member')
    .filter((e) => e.type !== 'm.room.member' || e.content.membership === 'invite' || e.sender === e.state_key)
    .map((e) => ({ type: e.type, state_key: e.state_key, sender: e.sender, content: e.content }));
}
