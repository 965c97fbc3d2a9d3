/**
 * Read access to a room for the API: a user who is joined sees current state; a user who left or
 * was banned sees the state as it was when they stopped being a member; anyone else gets 403
 * M_FORBIDDEN unless the room is world_readable (spec: "History visibility").
 */
import type { Homeserver } from '../context.ts';
import { forbidden, notFound } from '../errors.ts';
import { currentState, stateAt } from '../storage/events.ts';
import { RoomState } from './state.ts';

/** The room's current state (empty RoomState if the room is unknown). */
export async function roomStateNow(hs: Homeserver, roomId: string): Promise<RoomState> {
  const { events, depth } = await currentState(hs.pool, roomId);
  return RoomState.from(events, depth);
}

/** The state a user may read, and up to which stream position they may read the room. */
export async function readableState(hs: Homeserver, roomId: string, userId: string): Promise<{ state: RoomState; upTo: number }> {
  const now = await roomStateNow(hs, roomId);
  if (!now.exists) throw notFound('Unknown room');
  const member = now.get('m.room.member', userId);
  const m = member?.content.membership;
  if (m === 'join' || now.historyVisibility === 'world_readable') return { state: now, upTo: Number.MAX_SAFE_INTEGER };
  if ((m === 'leave' || m === 'ban') && member && member.prev_content?.membership === 'join') {
    const at = member.stream_ordering;
    return { state: RoomState.from(await stateAt(hs.pool, roomId, at)), upTo: at };
  }
  throw forbidden(`User ${userId} not in room ${roomId}`);
}

/** Resolves `#alias:server` to a room ID (or passes a room ID through). */
export async function resolveRoom(hs: Homeserver, idOrAlias: string): Promise<string> {
  if (!idOrAlias.startsWith('#')) return idOrAlias;
  const r = await hs.pool.query<{ room_id: string }>('SELECT room_id FROM room_aliases WHERE alias = $1', [idOrAlias]);
  if (!r.rows[0]) throw notFound(`Room alias ${idOrAlias} not found`);
  return r.rows[0].room_id;
}
