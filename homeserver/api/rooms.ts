/**
 * Room creation and membership (spec: Client-Server API "Creation", "Room membership"): createRoom
 * with presets, join by ID or alias, invite, leave, kick, ban, unban, forget, and the membership
 * listings. Every change is an event sent to the room's persister, which applies the auth rules.
 */
import { type Homeserver, sendEvents } from '../context.ts';
import { MatrixError, badJson, forbidden, missingParam, notFound } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { newRoomId, toClient, type EventDraft } from '../rooms/event.ts';
import { readableState, resolveRoom, roomStateNow } from '../rooms/access.ts';
import { getUser } from '../storage/users.ts';

type Preset = 'private_chat' | 'public_chat' | 'trusted_private_chat';

/** Routes of this module. */
export function roomRoutes(hs: Homeserver): RouteDef[] {
  const member = (path: string, fn: (c: RequestContext) => Promise<{ body: unknown }>): RouteDef => ({ method: 'POST', path, auth: 'user', placement: 'any', handler: fn });
  return [
    member('/_matrix/client/{v}/createRoom', (c) => createRoom(hs, c)),
    member('/_matrix/client/{v}/join/:room', (c) => join(hs, c, c.params.room!)),
    member('/_matrix/client/{v}/rooms/:room/join', (c) => join(hs, c, c.params.room!)),
    member('/_matrix/client/{v}/rooms/:room/invite', (c) => changeOther(hs, c, 'invite')),
    member('/_matrix/client/{v}/rooms/:room/kick', (c) => changeOther(hs, c, 'leave', 'kick')),
    member('/_matrix/client/{v}/rooms/:room/ban', (c) => changeOther(hs, c, 'ban')),
    member('/_matrix/client/{v}/rooms/:room/unban', (c) => changeOther(hs, c, 'leave', 'unban')),
    member('/_matrix/client/{v}/rooms/:room/leave', (c) => leave(hs, c)),
    { method: 'POST', path: '/_matrix/client/{v}/rooms/:room/forget', auth: 'user', placement: 'main', handler: (c) => forget(hs, c) },
    { method: 'GET', path: '/_matrix/client/{v}/joined_rooms', auth: 'user', placement: 'any', handler: (c) => joinedRooms(hs, c) },
    { method: 'GET', path: '/_matrix/client/{v}/rooms/:room/members', auth: 'user', placement: 'any', handler: (c) => members(hs, c) },
    { method: 'GET', path: '/_matrix/client/{v}/rooms/:room/joined_members', auth: 'user', placement: 'any', handler: (c) => joinedMembers(hs, c) },
  ];
}

/** The profile fields a member event carries. */
export async function memberContent(hs: Homeserver, userId: string, membership: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const u = await getUser(hs.pool, userId);
  const c: Record<string, unknown> = { membership, ...extra };
  if (u?.displayname) c.displayname = u.displayname;
  if (u?.avatar_url) c.avatar_url = u.avatar_url;
  return c;
}

function defaultPowerLevels(creator: string, preset: Preset, invitees: string[]): Record<string, unknown> {
  const users: Record<string, number> = { [creator]: 100 };
  if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  return {
    users, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0,
    events: { 'm.room.name': 50, 'm.room.power_levels': 100, 'm.room.history_visibility': 100, 'm.room.canonical_alias': 50, 'm.room.avatar': 50, 'm.room.tombstone': 100, 'm.room.server_acl': 100, 'm.room.encryption': 100 },
    notifications: { room: 50 },
  };
}

async function createRoom(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  const b = c.body;
  const visibility = b.visibility === 'public' ? 'public' : 'private';
  const preset = (typeof b.preset === 'string' ? b.preset : visibility === 'public' ? 'public_chat' : 'private_chat') as Preset;
  if (!['private_chat', 'public_chat', 'trusted_private_chat'].includes(preset)) throw badJson(`unknown preset ${preset}`);
  if (b.room_version !== undefined && b.room_version !== '10') throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', 'only room version 10 is supported');
  const invite = Array.isArray(b.invite) ? b.invite.filter((x): x is string => typeof x === 'string') : [];
  const roomId = newRoomId(hs.serverName);
  const alias = typeof b.room_alias_name === 'string' ? `#${b.room_alias_name}:${hs.serverName}` : undefined;
  if (alias && (await hs.pool.query('SELECT 1 FROM room_aliases WHERE alias = $1', [alias])).rowCount) throw new MatrixError('M_ROOM_IN_USE', 'Room alias already taken');
  const s = (type: string, content: Record<string, unknown>, state_key = ''): EventDraft => ({ type, state_key, sender: me, content });
  const drafts: EventDraft[] = [
    s('m.room.create', { room_version: '10', creator: me, ...(b.creation_content as object | undefined) }),
    s('m.room.member', await memberContent(hs, me, 'join'), me),
    s('m.room.power_levels', { ...defaultPowerLevels(me, preset, invite), ...(b.power_level_content_override as object | undefined) }),
  ];
  if (alias) drafts.push(s('m.room.canonical_alias', { alias }));
  drafts.push(s('m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' }));
  drafts.push(s('m.room.history_visibility', { history_visibility: 'shared' }));
  drafts.push(s('m.room.guest_access', { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' }));
  for (const st of Array.isArray(b.initial_state) ? (b.initial_state as Record<string, unknown>[]) : []) {
    if (typeof st.type === 'string') drafts.push(s(st.type, (st.content as Record<string, unknown>) ?? {}, typeof st.state_key === 'string' ? st.state_key : ''));
  }
  if (typeof b.name === 'string') drafts.push(s('m.room.name', { name: b.name }));
  if (typeof b.topic === 'string') drafts.push(s('m.room.topic', { topic: b.topic }));
  for (const u of invite) drafts.push(s('m.room.member', await memberContent(hs, u, 'invite', b.is_direct === true ? { is_direct: true } : {}), u));
  await sendEvents(hs, { room_id: roomId, drafts, create: { creator: me, room_version: '10', is_public: visibility === 'public', alias } });
  return { body: { room_id: roomId, ...(alias ? { room_alias: alias } : {}) } };
}

async function join(hs: Homeserver, c: RequestContext, idOrAlias: string) {
  const me = requester(c).userId;
  const roomId = await resolveRoom(hs, idOrAlias);
  const exists = await hs.pool.query('SELECT 1 FROM rooms WHERE room_id = $1', [roomId]);
  if (!exists.rowCount) throw notFound('No known servers: unknown room');
  await sendEvents(hs, { room_id: roomId, drafts: [{ type: 'm.room.member', state_key: me, sender: me, content: await memberContent(hs, me, 'join') }] });
  return { body: { room_id: roomId } };
}

/** invite, ban, and the leave of /kick and /unban (`action`: the persister checks it fits the target's membership). */
async function changeOther(hs: Homeserver, c: RequestContext, membership: 'invite' | 'leave' | 'ban', action?: 'kick' | 'unban') {
  const me = requester(c).userId;
  const target = c.body.user_id;
  if (typeof target !== 'string') throw missingParam('user_id is required');
  const extra: Record<string, unknown> = typeof c.body.reason === 'string' ? { reason: c.body.reason } : {};
  const content = membership === 'invite' ? await memberContent(hs, target, 'invite', extra) : { membership, ...extra };
  await sendEvents(hs, { room_id: c.params.room!, drafts: [{ type: 'm.room.member', state_key: target, sender: me, content, membership_action: action }] });
  return { body: {} };
}

async function leave(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  const extra = typeof c.body.reason === 'string' ? { reason: c.body.reason } : {};
  await sendEvents(hs, { room_id: c.params.room!, drafts: [{ type: 'm.room.member', state_key: me, sender: me, content: { membership: 'leave', ...extra } }] });
  return { body: {} };
}

async function forget(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  const state = await roomStateNow(hs, c.params.room!);
  const m = state.membership(me);
  if (m === 'join' || m === 'invite') throw new MatrixError('M_UNKNOWN', 'User is in the room; leave it first', 400);
  await hs.pool.query('INSERT INTO room_forgotten (user_id, room_id) VALUES ($1,$2) ON CONFLICT DO NOTHING', [me, c.params.room!]);
  return { body: {} };
}

async function joinedRooms(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<{ room_id: string }>(`SELECT room_id FROM current_state WHERE type = 'm.room.member' AND state_key = $1 AND membership = 'join'`, [requester(c).userId]);
  return { body: { joined_rooms: r.rows.map((x) => x.room_id) } };
}

async function members(hs: Homeserver, c: RequestContext) {
  const { state } = await readableState(hs, c.params.room!, requester(c).userId);
  const want = c.query.get('membership');
  const not = c.query.get('not_membership');
  const now = Date.now();
  const chunk = [...state.events.values()]
    .filter((e) => e.type === 'm.room.member' && (!want || e.content.membership === want) && (!not || e.content.membership !== not))
    .map((e) => toClient(e, now));
  return { body: { chunk } };
}

async function joinedMembers(hs: Homeserver, c: RequestContext) {
  const { state } = await readableState(hs, c.params.room!, requester(c).userId);
  if (state.membership(requester(c).userId) !== 'join') throw forbidden('You are not in this room');
  const joined: Record<string, unknown> = {};
  for (const u of state.members('join')) {
    const content = state.get('m.room.member', u)!.content;
    joined[u] = { display_name: content.displayname ?? null, avatar_url: content.avatar_url ?? null };
  }
  return { body: { joined } };
}
