/**
 * Stream-writer endpoints (docs/workers.md "Stream writers"): typing, receipts and read markers,
 * to-device messages, account data and tags, presence. Each write goes to the stream's writer;
 * reads come from the database.
 */
import { type Homeserver, writeStream } from '../context.ts';
import { badJson, forbidden, MatrixError, notFound } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { roomStateNow } from '../rooms/access.ts';

/** Routes of this module. */
export function ephemeralRoutes(hs: Homeserver): RouteDef[] {
  const r = (method: RouteDef['method'], path: string, handler: RouteDef['handler']): RouteDef => ({ method, path, auth: 'user', placement: 'any', handler });
  return [
    r('PUT', '/_matrix/client/{v}/rooms/:room/typing/:user', (c) => typing(hs, c)),
    r('POST', '/_matrix/client/{v}/rooms/:room/receipt/:type/:event', (c) => receipt(hs, c, c.params.type!, c.params.event!)),
    r('POST', '/_matrix/client/{v}/rooms/:room/read_markers', (c) => readMarkers(hs, c)),
    r('PUT', '/_matrix/client/{v3}/sendToDevice/:type/:txn', (c) => toDevice(hs, c)),
    r('PUT', '/_matrix/client/{v3}/user/:user/account_data/:type', (c) => putAccountData(hs, c, '')),
    r('GET', '/_matrix/client/{v3}/user/:user/account_data/:type', (c) => getAccountData(hs, c, '')),
    r('PUT', '/_matrix/client/{v3}/user/:user/rooms/:room/account_data/:type', (c) => putAccountData(hs, c, c.params.room!)),
    r('GET', '/_matrix/client/{v3}/user/:user/rooms/:room/account_data/:type', (c) => getAccountData(hs, c, c.params.room!)),
    r('GET', '/_matrix/client/{v3}/user/:user/rooms/:room/tags', (c) => getTags(hs, c)),
    r('PUT', '/_matrix/client/{v3}/user/:user/rooms/:room/tags/:tag', (c) => changeTag(hs, c, true)),
    r('DELETE', '/_matrix/client/{v3}/user/:user/rooms/:room/tags/:tag', (c) => changeTag(hs, c, false)),
    r('PUT', '/_matrix/client/{v}/presence/:user/status', (c) => putPresence(hs, c)),
    r('GET', '/_matrix/client/{v}/presence/:user/status', (c) => getPresence(hs, c)),
  ];
}

async function requireJoined(hs: Homeserver, roomId: string, userId: string): Promise<void> {
  const state = await roomStateNow(hs, roomId);
  if (state.membership(userId) !== 'join') throw forbidden(`User ${userId} not in room ${roomId}`);
}

function self(c: RequestContext): string {
  const me = requester(c).userId;
  if (c.params.user !== me) throw forbidden('Cannot act for another user');
  return me;
}

async function typing(hs: Homeserver, c: RequestContext) {
  const me = self(c);
  if (typeof c.body.typing !== 'boolean') throw badJson('typing must be a boolean');
  await requireJoined(hs, c.params.room!, me);
  await writeStream(hs, { stream: 'typing', room_id: c.params.room!, user_id: me, typing: c.body.typing, timeout: typeof c.body.timeout === 'number' ? c.body.timeout : undefined });
  return { body: {} };
}

async function receipt(hs: Homeserver, c: RequestContext, type: string, eventId: string) {
  const me = requester(c).userId;
  if (type === 'm.fully_read') {
    await writeStream(hs, { stream: 'account_data', user_id: me, room_id: c.params.room!, type: 'm.fully_read', content: { event_id: eventId } });
    return { body: {} };
  }
  if (type !== 'm.read' && type !== 'm.read.private') throw badJson(`unknown receipt type ${type}`);
  await requireJoined(hs, c.params.room!, me);
  const data: Record<string, unknown> = { ts: Date.now() };
  if (typeof c.body.thread_id === 'string') data.thread_id = c.body.thread_id;
  await writeStream(hs, { stream: 'receipts', room_id: c.params.room!, receipt_type: type, user_id: me, event_id: eventId, data });
  return { body: {} };
}

async function readMarkers(hs: Homeserver, c: RequestContext) {
  for (const type of ['m.fully_read', 'm.read', 'm.read.private']) {
    const ev = c.body[type];
    if (typeof ev === 'string') await receipt(hs, c, type, ev);
  }
  return { body: {} };
}

/** Spec "Send-to-Device messaging": the txnId makes a retry answer 200 `{}` without delivering twice. */
async function toDevice(hs: Homeserver, c: RequestContext) {
  const messages = c.body.messages;
  if (!messages || typeof messages !== 'object') throw badJson('messages is required');
  const me = requester(c);
  await writeStream(hs, {
    stream: 'to_device', sender: me.userId, type: c.params.type!, messages: messages as Record<string, Record<string, unknown>>,
    txn: { device_id: me.deviceId, txn_id: c.params.txn! },
  });
  return { body: {} };
}

/**
 * Account data types the server controls (spec: PUT /user/{userId}/account_data/{type} and the
 * room form, "405: This type of account data is controlled by the server; it cannot be modified by
 * clients", M_BAD_JSON): push rules change through /pushrules, m.fully_read through read_markers
 * or receipts. Synapse refuses the same two.
 */
const SERVER_CONTROLLED = { global: 'm.push_rules', room: 'm.fully_read' } as const;

async function putAccountData(hs: Homeserver, c: RequestContext, roomId: string) {
  const me = self(c);
  const type = c.params.type!;
  if (type === (roomId === '' ? SERVER_CONTROLLED.global : SERVER_CONTROLLED.room)) {
    const use = roomId === '' ? 'the /pushrules API' : '/rooms/{roomId}/read_markers';
    throw new MatrixError('M_BAD_JSON', `${type} is controlled by the server; it cannot be set through this API (use ${use})`, 405);
  }
  await writeStream(hs, { stream: 'account_data', user_id: me, room_id: roomId, type, content: c.body });
  return { body: {} };
}

async function readAccountData(hs: Homeserver, userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
  const r = await hs.pool.query<{ content: Record<string, unknown> }>('SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3', [userId, roomId, type]);
  return r.rows[0]?.content;
}

async function getAccountData(hs: Homeserver, c: RequestContext, roomId: string) {
  const content = await readAccountData(hs, self(c), roomId, c.params.type!);
  if (!content) throw notFound('Account data not found');
  return { body: content };
}

async function getTags(hs: Homeserver, c: RequestContext) {
  const content = await readAccountData(hs, self(c), c.params.room!, 'm.tag');
  return { body: { tags: (content?.tags as Record<string, unknown> | undefined) ?? {} } };
}

async function changeTag(hs: Homeserver, c: RequestContext, add: boolean) {
  const me = self(c);
  const content = await readAccountData(hs, me, c.params.room!, 'm.tag');
  const tags = { ...((content?.tags as Record<string, unknown> | undefined) ?? {}) };
  if (add) tags[c.params.tag!] = c.body; else delete tags[c.params.tag!];
  await writeStream(hs, { stream: 'account_data', user_id: me, room_id: c.params.room!, type: 'm.tag', content: { tags } });
  return { body: {} };
}

async function putPresence(hs: Homeserver, c: RequestContext) {
  const me = self(c);
  const p = c.body.presence;
  if (p !== 'online' && p !== 'offline' && p !== 'unavailable') throw badJson('presence must be online, offline or unavailable');
  await writeStream(hs, { stream: 'presence', user_id: me, presence: p, status_msg: typeof c.body.status_msg === 'string' ? c.body.status_msg : undefined });
  return { body: {} };
}

async function getPresence(hs: Homeserver, c: RequestContext) {
  const r = await hs.pool.query<{ state: string; status_msg: string | null; last_active_ts: string; currently_active: boolean }>('SELECT state, status_msg, last_active_ts, currently_active FROM presence WHERE user_id = $1', [c.params.user!]);
  const row = r.rows[0];
  if (!row) return { body: { presence: 'offline' } };
  return { body: { presence: row.state, status_msg: row.status_msg ?? undefined, last_active_ago: Date.now() - Number(row.last_active_ts), currently_active: row.currently_active } };
}
