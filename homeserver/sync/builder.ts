/**
 * Builds a sync response for the range (since, to] of every stream (spec: GET /_matrix/client/v3/sync).
 * `to` is this process's safe token, so nothing above it is read; a stream whose positions did
 * not move is not queried at all, which keeps an idle incremental sync to two indexed queries.
 */
import type { Homeserver } from '../context.ts';
import type { Requester } from '../http/types.ts';
import { roomAllowed, type Filter } from '../rooms/filter.ts';
import { membershipsAt, roomsWithEvents } from '../storage/events.ts';
import { accountDataIn, deviceListChanges, oneTimeKeyCounts, presenceIn, receiptsIn, toDeviceIn, typingIn } from '../storage/ephemeral.ts';
import { formatStreamToken, type StreamToken } from '../streams/token.ts';
import { inviteState, timelineAndState } from './rooms.ts';

/** A built response plus what the long-poll loop needs to wait on. */
export interface SyncResult {
  body: Record<string, unknown>;
  empty: boolean;
  /** Joined rooms the filter allows (what the long poll waits on). */
  joinedRooms: string[];
  /** Every joined room at `to`, unfiltered (what Caches.syncRooms may remember). */
  allJoined: string[];
}

const ZERO: StreamToken = { events: 0, typing: 0, receipts: 0, to_device: 0, account_data: 0, presence: 0, device_lists: 0 };

/**
 * What the caller already knows for an incremental sync: the user's joined rooms, valid across
 * (since, to] because no row in that range carries the user's `u:` key (so no membership changed).
 * Then the memberships and the rooms with new events come from the notifier's history, not SQL.
 */
export interface SyncHint { joined: readonly string[] }

type Membership = Awaited<ReturnType<typeof membershipsAt>>[number];

async function membershipsFor(hs: Homeserver, who: Requester, to: StreamToken, hint: SyncHint | undefined): Promise<Membership[]> {
  if (hint) return hint.joined.map((room_id) => ({ room_id, membership: 'join', stream_ordering: 0, event_id: '' }));
  return membershipsAt(hs.pool, who.userId, to.events);
}

function roomsWithEventsFor(hs: Homeserver, joined: string[], from: number, to: number, hint: SyncHint | undefined): Promise<Set<string>> {
  const keys = hint ? hs.notifier.keysIn('events', from, to) : undefined;
  if (keys) return Promise.resolve(new Set(joined.filter((r) => keys.has(`r:${r}`))));
  return roomsWithEvents(hs.pool, joined, from, to);
}

/** Builds one response. `since` undefined = initial sync. */
export async function buildSync(hs: Homeserver, who: Requester, since: StreamToken | undefined, to: StreamToken, filter: Filter, fullState: boolean, hint?: SyncHint): Promise<SyncResult> {
  const from = since ?? ZERO;
  const full = since === undefined || fullState;
  if (full) hint = undefined;
  const all = await membershipsFor(hs, who, to, hint);
  // One pass: every joined room (allJoined), and the rooms the filter lets through.
  const allJoined: string[] = [];
  const memberships: typeof all = [];
  const joined: string[] = [];
  for (const m of all) {
    const isJoin = m.membership === 'join';
    if (isJoin) allJoined.push(m.room_id);
    if (!roomAllowed(filter, m.room_id)) continue;
    memberships.push(m);
    if (isJoin) joined.push(m.room_id);
  }
  const range = (s: keyof StreamToken) => ({ from: from[s], to: to[s] });
  const [withEvents, typing, receipts, accountData] = await Promise.all([
    full ? Promise.resolve(new Set(joined)) : roomsWithEventsFor(hs, joined, from.events, to.events, hint),
    typingIn(hs.pool, joined, full ? { from: 0, to: to.typing } : range('typing')),
    receiptsIn(hs.pool, joined, full ? { from: 0, to: to.receipts } : range('receipts')),
    accountDataIn(hs.pool, who.userId, full ? { from: 0, to: to.account_data } : range('account_data')),
  ]);
  const join: Record<string, unknown> = {};
  const leave: Record<string, unknown> = {};
  const invite: Record<string, unknown> = {};
  for (const m of memberships) {
    const changed = m.stream_ordering > from.events;
    if (m.membership === 'join') {
      const newJoin = !full && changed;
      const touched = withEvents.has(m.room_id) || typing.has(m.room_id) || receipts.has(m.room_id) || accountData.has(m.room_id);
      if (!full && !newJoin && !touched) continue;
      const ts = withEvents.has(m.room_id) || full || newJoin
        ? await timelineAndState(hs, who, filter, { roomId: m.room_id, since: since === undefined || newJoin ? 0 : from.events, upTo: to.events, full: full || newJoin, joined: true })
        : { timeline: { events: [], limited: false, prev_batch: `s${to.events}` }, state: { events: [] } };
      join[m.room_id] = { ...ts, ...ephemeralOf(m.room_id, typing, receipts, accountData), unread_notifications: { highlight_count: 0, notification_count: 0 }, summary: {} };
    } else if (m.membership === 'invite' && (full || changed)) {
      invite[m.room_id] = { invite_state: { events: await inviteState(hs, m.room_id, m.stream_ordering) } };
    } else if ((m.membership === 'leave' || m.membership === 'ban') && changed && (!full || filter.room?.include_leave)) {
      leave[m.room_id] = await timelineAndState(hs, who, filter, { roomId: m.room_id, since: full ? 0 : from.events, upTo: m.stream_ordering, full: false, joined: false });
    }
  }
  return finish(hs, who, { from, to, full, joined, allJoined, join, leave, invite, accountData });
}

function ephemeralOf(roomId: string, typing: Map<string, string[]>, receipts: Map<string, unknown>, accountData: Map<string, { type: string; content: unknown }[]>) {
  const events: unknown[] = [];
  const t = typing.get(roomId);
  if (t) events.push({ type: 'm.typing', content: { user_ids: t } });
  const r = receipts.get(roomId);
  if (r) events.push({ type: 'm.receipt', content: r });
  return { ephemeral: { events }, account_data: { events: accountData.get(roomId) ?? [] } };
}

interface Parts {
  from: StreamToken; to: StreamToken; full: boolean; joined: string[]; allJoined: string[];
  join: Record<string, unknown>; leave: Record<string, unknown>; invite: Record<string, unknown>;
  accountData: Map<string, { type: string; content: unknown }[]>;
}

async function finish(hs: Homeserver, who: Requester, p: Parts): Promise<SyncResult> {
  const range = (s: keyof StreamToken) => ({ from: p.full && s !== 'to_device' ? 0 : p.from[s], to: p.to[s] });
  const device = `${who.userId}|${who.deviceId}`;
  const acked = hs.caches.toDeviceAcked.get(device) ?? 0;
  if (p.from.to_device > acked) hs.caches.toDeviceAcked.set(device, p.from.to_device);
  const [toDevice, presence, changed, otk] = await Promise.all([
    toDeviceIn(hs.pool, who.userId, who.deviceId, range('to_device'), 100, p.from.to_device > acked),
    presenceIn(hs.pool, who.userId, p.joined, range('presence')),
    p.full ? Promise.resolve([]) : deviceListChanges(hs.pool, p.joined, who.userId, range('device_lists')),
    hs.caches.oneTimeKeys.get(device, () => oneTimeKeyCounts(hs.pool, who.userId, who.deviceId)),
  ]);
  const next = { ...p.to };
  if (toDevice.length === 100) next.to_device = toDevice[toDevice.length - 1]!.stream_id;
  const now = Date.now();
  const body = {
    next_batch: formatStreamToken(next),
    rooms: { join: p.join, invite: p.invite, leave: p.leave, knock: {} },
    account_data: { events: p.accountData.get('') ?? [] },
    to_device: { events: toDevice.map((m) => m.message) },
    presence: { events: presence.map((x) => ({ type: 'm.presence', sender: x.user_id, content: { presence: x.state, status_msg: x.status_msg ?? undefined, last_active_ago: now - Number(x.last_active_ts), currently_active: x.currently_active } })) },
    device_lists: { changed, left: [] },
    device_one_time_keys_count: otk,
  };
  const empty = Object.keys(p.join).length + Object.keys(p.leave).length + Object.keys(p.invite).length + toDevice.length + presence.length + changed.length + body.account_data.events.length === 0;
  return { body, empty, joinedRooms: p.joined, allJoined: p.allJoined };
}
