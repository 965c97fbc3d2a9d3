/**
 * Room aliases, the public room directory and user directory search (spec: "Room aliases",
 * "Listing rooms", "User directory"). The user directory searches every local user (Synapse's
 * `user_directory.search_all_users: true`).
 */
import type { Homeserver } from '../context.ts';
import { MatrixError, badJson, forbidden, notFound } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { readableState, roomStateNow } from '../rooms/access.ts';

/** Routes of this module. */
export function directoryRoutes(hs: Homeserver): RouteDef[] {
  const r = (method: RouteDef['method'], path: string, handler: RouteDef['handler'], auth: RouteDef['auth'] = 'user'): RouteDef => ({ method, path, auth, placement: 'any', handler });
  return [
    r('GET', '/_matrix/client/{v}/directory/room/:alias', (c) => getAlias(hs, c), 'none'),
    r('PUT', '/_matrix/client/{v}/directory/room/:alias', (c) => putAlias(hs, c)),
    r('DELETE', '/_matrix/client/{v}/directory/room/:alias', (c) => deleteAlias(hs, c)),
    r('GET', '/_matrix/client/{v}/rooms/:room/aliases', (c) => roomAliases(hs, c)),
    r('GET', '/_matrix/client/{v}/directory/list/room/:room', (c) => getListing(hs, c), 'none'),
    r('PUT', '/_matrix/client/{v}/directory/list/room/:room', (c) => putListing(hs, c)),
    r('GET', '/_matrix/client/{v}/publicRooms', (c) => publicRooms(hs, c), 'optional'),
    r('POST', '/_matrix/client/{v}/publicRooms', (c) => publicRooms(hs, c)),
    r('POST', '/_matrix/client/{v3}/user_directory/search', (c) => searchUsers(hs, c)),
  ];
}

async function getAlias(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<{ room_id: string }>('SELECT room_id FROM room_aliases WHERE alias = $1', [c.params.alias!]);
  if (!r.rows[0]) throw notFound(`Room alias ${c.params.alias} not found`);
  return { body: { room_id: r.rows[0].room_id, servers: [hs.serverName] } };
}

async function putAlias(hs: Homeserver, c: RequestContext) {
  const alias = c.params.alias!;
  if (!alias.startsWith('#') || !alias.endsWith(`:${hs.serverName}`)) throw new MatrixError('M_INVALID_PARAM', 'alias must be #local:server_name on this server');
  const roomId = c.body.room_id;
  if (typeof roomId !== 'string') throw badJson('room_id is required');
  const state = await roomStateNow(hs, roomId);
  if (!state.exists) throw notFound('Unknown room');
  if (state.membership(requester(c).userId) !== 'join') throw forbidden('You must be in the room to add an alias');
  const r = await hs.pool.query('INSERT INTO room_aliases (alias, room_id, creator) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING', [alias, roomId, requester(c).userId]);
  if (!r.rowCount) throw new MatrixError('M_UNKNOWN', `Room alias ${alias} already exists`, 409);
  return { body: {} };
}

async function deleteAlias(hs: Homeserver, c: RequestContext) {
  const me = requester(c);
  const r = await hs.pool.query<{ creator: string }>('SELECT creator FROM room_aliases WHERE alias = $1', [c.params.alias!]);
  if (!r.rows[0]) throw notFound('Alias not found');
  if (r.rows[0].creator !== me.userId && !me.isAdmin) throw forbidden('You may only delete aliases you created');
  await hs.pool.query('DELETE FROM room_aliases WHERE alias = $1', [c.params.alias!]);
  return { body: {} };
}

async function roomAliases(hs: Homeserver, c: RequestContext) {
  await readableState(hs, c.params.room!, requester(c).userId);
  const r = await hs.pool.query<{ alias: string }>('SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY alias', [c.params.room!]);
  return { body: { aliases: r.rows.map((x) => x.alias) } };
}

async function getListing(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<{ is_public: boolean }>('SELECT is_public FROM rooms WHERE room_id = $1', [c.params.room!]);
  if (!r.rows[0]) throw notFound('Unknown room');
  return { body: { visibility: r.rows[0].is_public ? 'public' : 'private' } };
}

async function putListing(hs: Homeserver, c: RequestContext) {
  const state = await roomStateNow(hs, c.params.room!);
  if (!state.exists) throw notFound('Unknown room');
  const me = requester(c).userId;
  if (state.userLevel(me) < state.requiredLevel('m.room.canonical_alias', true)) throw forbidden('Your power level is too low to publish this room');
  await hs.pool.query('UPDATE rooms SET is_public = $1 WHERE room_id = $2', [c.body.visibility === 'public', c.params.room!]);
  return { body: {} };
}

async function publicRooms(hs: Homeserver, c: RequestContext) {
  const limit = Math.min(Number(c.body.limit ?? c.query.get('limit') ?? 100) || 100, 500);
  const offset = Number(String(c.body.since ?? c.query.get('since') ?? '0').replace(/^o/, '')) || 0;
  const term = String((c.body.filter as Record<string, unknown> | undefined)?.generic_search_term ?? '').toLowerCase();
  const rooms = await hs.pool.query<{ room_id: string }>('SELECT room_id FROM rooms WHERE is_public ORDER BY created_ts, room_id', []);
  const chunk: Record<string, unknown>[] = [];
  for (const { room_id } of rooms.rows) {
    const s = await roomStateNow(hs, room_id);
    const entry = {
      room_id, num_joined_members: s.members('join').length, world_readable: s.historyVisibility === 'world_readable',
      guest_can_join: s.get('m.room.guest_access')?.content.guest_access === 'can_join', join_rule: s.joinRule,
      name: s.get('m.room.name')?.content.name, topic: s.get('m.room.topic')?.content.topic,
      canonical_alias: s.get('m.room.canonical_alias')?.content.alias, avatar_url: s.get('m.room.avatar')?.content.url,
    };
    if (term && !`${entry.name ?? ''} ${entry.topic ?? ''} ${entry.canonical_alias ?? ''}`.toLowerCase().includes(term)) continue;
    chunk.push(entry);
  }
  const page = chunk.slice(offset, offset + limit);
  const body: Record<string, unknown> = { chunk: page, total_room_count_estimate: chunk.length };
  if (offset + limit < chunk.length) body.next_batch = `o${offset + limit}`;
  if (offset > 0) body.prev_batch = `o${Math.max(0, offset - limit)}`;
  return { body };
}

async function searchUsers(hs: Homeserver, c: RequestContext) {
  const term = c.body.search_term;
  if (typeof term !== 'string') throw badJson('search_term is required');
  const limit = Math.min(Number(c.body.limit ?? 10) || 10, 50);
  const like = `%${term.replace(/[%_\\]/g, (m) => `\\${m}`)}%`;
  const r = await hs.pool.query<{ user_id: string; displayname: string | null; avatar_url: string | null }>(
    'SELECT user_id, displayname, avatar_url FROM users WHERE NOT deactivated AND (user_id ILIKE $1 OR displayname ILIKE $1) ORDER BY user_id LIMIT $2', [like, limit + 1]);
  const results = r.rows.slice(0, limit).map((u) => ({ user_id: u.user_id, display_name: u.displayname ?? undefined, avatar_url: u.avatar_url ?? undefined }));
  return { body: { results, limited: r.rows.length > limit } };
}
