/**
 * Profiles (spec: "Profiles"): GET the whole profile or one field; PUT displayname/avatar_url,
 * which also sends an updated m.room.member event into every room the user is joined to (spec:
 * "Events on change of profile information").
 */
import { type Homeserver, sendEvents } from '../context.ts';
import { badJson, forbidden, notFound } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { getUser } from '../storage/users.ts';
import { roomStateNow } from '../rooms/access.ts';

type Field = 'displayname' | 'avatar_url';

/** Routes of this module. */
export function profileRoutes(hs: Homeserver): RouteDef[] {
  const get = (field?: Field): RouteDef => ({ method: 'GET', path: `/_matrix/client/{v}/profile/:user${field ? `/${field}` : ''}`, auth: 'optional', placement: 'any', handler: (c) => read(hs, c, field) });
  const put = (field: Field): RouteDef => ({ method: 'PUT', path: `/_matrix/client/{v}/profile/:user/${field}`, auth: 'user', placement: 'any', handler: (c) => write(hs, c, field) });
  return [get(), get('displayname'), get('avatar_url'), put('displayname'), put('avatar_url')];
}

async function read(hs: Homeserver, c: RequestContext, field?: Field) {
  const u = await getUser(hs.pool, c.params.user!);
  if (!u || u.deactivated) throw notFound('Profile was not found');
  const profile: Record<string, string> = {};
  if (u.displayname !== null) profile.displayname = u.displayname;
  if (u.avatar_url !== null) profile.avatar_url = u.avatar_url;
  if (field && profile[field] === undefined) throw notFound(`The user has no ${field}`);
  return { body: field ? { [field]: profile[field] } : profile };
}

async function write(hs: Homeserver, c: RequestContext, field: Field) {
  const me = requester(c).userId;
  if (c.params.user !== me) throw forbidden('Cannot set another user\'s profile');
  const value = c.body[field];
  if (value !== null && typeof value !== 'string') throw badJson(`${field} must be a string`);
  if (typeof value === 'string' && value.length > 256) throw badJson(`${field} is too long`);
  await hs.pool.query(`UPDATE users SET ${field} = $1 WHERE user_id = $2`, [value, me]);
  const rooms = await hs.pool.query<{ room_id: string }>(`SELECT room_id FROM current_state WHERE type = 'm.room.member' AND state_key = $1 AND membership = 'join'`, [me]);
  await Promise.all(rooms.rows.map(async ({ room_id }) => {
    const state = await roomStateNow(hs, room_id);
    const content = { ...(state.get('m.room.member', me)?.content ?? { membership: 'join' }) };
    if (value === null) delete content[field]; else content[field] = value;
    await sendEvents(hs, { room_id, drafts: [{ type: 'm.room.member', state_key: me, sender: me, content }] }).catch(() => undefined);
  }));
  return { body: {} };
}
