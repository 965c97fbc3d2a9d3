/**
 * Request builders, one per traffic category. Paths follow the Matrix client-server and
 * server-server APIs (v1.11) and the request shapes of shared/bench's generator; which worker
 * serves them is the routes file's business, never decided here.
 */
import type { RouteRequest } from '../types.ts';
import type { Category } from './mix.ts';
import { createRng, type Rng, type Zipf } from './prng.ts';
import type { GeneratedRequest, GroupOffsets } from './traffic.ts';
import { SERVER_NAME, type Device, type Room, type User, type World } from './world.ts';

/** The state a request draw needs. `counter` feeds since tokens and transaction IDs. */
export interface Draw {
  readonly world: World;
  readonly rng: Rng;
  readonly userZipf: Zipf;
  readonly roomZipf: Zipf;
  readonly originZipf: Zipf;
  readonly offsets: GroupOffsets;
  readonly syncTimeout: string;
  counter: number;
}

const C = '/_matrix/client/v3';
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Builds one request of `category`. */
export function buildRequest(d: Draw, category: Category): GeneratedRequest {
  d.counter++;
  switch (category) {
    case 'sync': return sync(d);
    case 'initial_sync': return initialSync(d);
    case 'event_send': return eventSend(d);
    case 'pagination': return pagination(d);
    case 'federation': return federationSend(d);
    case 'stream_writers': return streamWriter(d);
    case 'other': return other(d);
    case 'unmatched': return unmatched(d);
  }
}

function user(d: Draw): User {
  return d.world.users[d.userZipf.sample(d.rng)]!;
}
function room(d: Draw): Room {
  return d.world.rooms[d.roomZipf.sample(d.rng)]!;
}
function device(d: Draw, u: User): Device {
  return u.devices.length === 1 ? u.devices[0]! : u.devices[d.rng.below(u.devices.length)]!;
}
/** 80 % of clients percent-encode the room ID in paths (matrix-js-sdk does), the rest send it raw. */
function roomSeg(d: Draw, r: Room): string {
  return d.rng.next() < 0.8 ? r.encoded : r.raw;
}
/** Synapse-shaped since tokens (`s<events>_<other streams…>`); a ring of 4096 keeps them cheap. */
const SINCE = Array.from({ length: 4096 }, (_, i) => {
  const n = 1_000_000 + i * 37;
  return `since=s${n}_${n % 9973}_0_1_${n % 97}_1_1_${n % 53}_0_1`;
});

/** A client request with the device's token where the device keeps it. */
function client(category: Category, u: User, dev: Device, method: string, path: string, query: string, body: string | null, sticky = -1): GeneratedRequest {
  const q = query === '' ? dev.queryAuthOnly : dev.queryAuth + query;
  const req: RouteRequest = { method, path, query: q, headers: dev.headers, sourceIp: u.ip };
  return { category, req, body, sticky };
}

function sync(d: Draw): GeneratedRequest {
  const u = user(d);
  const path = d.rng.next() < 0.05 ? '/_matrix/client/r0/sync' : `${C}/sync`;
  return client('sync', u, device(d, u), 'GET', path, `${SINCE[d.counter & 4095]}&timeout=${d.syncTimeout}&filter=0`, null, u.index);
}

function initialSync(d: Draw): GeneratedRequest {
  const u = user(d);
  const dev = device(d, u);
  const g = d.offsets.initialSync + u.index;
  const p = d.rng.next();
  if (p < 0.85) return client('initial_sync', u, dev, 'GET', `${C}/sync`, 'filter=0&timeout=0', null, g);
  if (p < 0.95) return client('initial_sync', u, dev, 'GET', `${C}/rooms/${roomSeg(d, room(d))}/initialSync`, 'limit=20', null, g);
  return client('initial_sync', u, dev, 'GET', '/_matrix/client/r0/initialSync', 'limit=1', null, g);
}

function eventSend(d: Draw): GeneratedRequest {
  const u = user(d), dev = device(d, u);
  const r = room(d);
  const base = `${C}/rooms/${roomSeg(d, r)}`;
  const g = d.offsets.roomSend + r.index;
  const txn = `m${d.counter}.${d.rng.below(1000)}`;
  const p = d.rng.next();
  if (p < 0.78) return client('event_send', u, dev, 'PUT', `${base}/send/m.room.message/${txn}`, '', '{"msgtype":"m.text","body":"hello"}', g);
  if (p < 0.88) return client('event_send', u, dev, 'PUT', `${base}/send/m.reaction/${txn}`, '', '{"m.relates_to":{"rel_type":"m.annotation","event_id":"$x","key":"+1"}}', g);
  if (p < 0.92) return client('event_send', u, dev, 'PUT', `${base}/state/m.room.topic/`, '', '{"topic":"news"}', g);
  if (p < 0.95) return client('event_send', u, dev, 'PUT', `${base}/redact/${encodeURIComponent(eventId(d))}/${txn}`, '', '{}', g);
  if (p < 0.98) return client('event_send', u, dev, 'POST', `${base}/${d.rng.next() < 0.5 ? 'join' : 'leave'}`, '', '{}', g);
  // Joins by alias carry no room ID: nothing to shard on (the route's fallback decides).
  return client('event_send', u, dev, 'POST', `${C}/join/${encodeURIComponent(`#room${r.index}:${SERVER_NAME}`)}`, '', '{}');
}

function pagination(d: Draw): GeneratedRequest {
  const u = user(d), r = room(d);
  const q = `dir=b&from=t${d.counter % 5000}-${d.counter}_0_0&limit=30&filter=%7B%22lazy_load_members%22%3Atrue%7D`;
  return client('pagination', u, device(d, u), 'GET', `${C}/rooms/${roomSeg(d, r)}/messages`, q, null, d.offsets.roomPagination + r.index);
}

function federationSend(d: Draw): GeneratedRequest {
  const o = d.world.origins[d.originZipf.sample(d.rng)]!;
  const ip = o.ips.length === 1 ? o.ips[0]! : o.ips[d.rng.below(o.ips.length)]!;
  const req: RouteRequest = {
    method: 'PUT', path: `/_matrix/federation/v1/send/${d.counter}-${o.index}`, query: '',
    headers: { authorization: o.authorization }, sourceIp: ip,
  };
  return { category: 'federation', req, body: '{"origin_server_ts":0,"pdus":[],"edus":[]}', sticky: d.offsets.origin + o.index };
}

/** Event IDs (room v4+: `$` + 43 unpadded base64url characters), drawn from a fixed ring of 1024. */
const EVENT_IDS = (() => {
  const rng = createRng('event-ids');
  return Array.from({ length: 1024 }, () => `$${rng.chars(43, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_')}`);
})();
function eventId(d: Draw): string {
  return EVENT_IDS[d.rng.below(1024)]!;
}

function streamWriter(d: Draw): GeneratedRequest {
  const u = user(d), dev = device(d, u);
  const mx = encodeURIComponent(u.mxid);
  const p = d.rng.next();
  const at = (method: string, path: string, body: string): GeneratedRequest => client('stream_writers', u, dev, method, path, '', body);
  if (p < 0.3) return at('PUT', `${C}/rooms/${roomSeg(d, room(d))}/typing/${mx}`, '{"typing":true,"timeout":30000}');
  if (p < 0.5) return at('POST', `${C}/rooms/${roomSeg(d, room(d))}/receipt/m.read/${encodeURIComponent(eventId(d))}`, '{}');
  if (p < 0.6) return at('POST', `${C}/rooms/${roomSeg(d, room(d))}/read_markers`, '{"m.fully_read":"$x"}');
  if (p < 0.75) return at('PUT', `${C}/sendToDevice/m.room.encrypted/t${d.counter}`, '{"messages":{}}');
  if (p < 0.85) return at('PUT', `${C}/user/${mx}/account_data/m.direct`, '{}');
  if (p < 0.9) return at('PUT', `${C}/user/${mx}/rooms/${encodeURIComponent(room(d).id)}/tags/m.favourite`, '{"order":0.5}');
  return at('PUT', `${C}/presence/${mx}/status`, '{"presence":"online"}');
}

function other(d: Draw): GeneratedRequest {
  const u = user(d), dev = device(d, u);
  const mx = encodeURIComponent(u.mxid);
  const p = d.rng.next();
  const get = (path: string, query = ''): GeneratedRequest => client('other', u, dev, 'GET', path, query, null);
  if (p < 0.1) return fedRead(d);
  if (p < 0.25) return client('other', u, dev, 'POST', `${C}/keys/query`, '', `{"device_keys":{"${u.mxid}":[]}}`);
  if (p < 0.35) return get(`${C}/profile/${encodeURIComponent(user(d).mxid)}/displayname`);
  if (p < 0.45) return get(`${C}/joined_rooms`);
  if (p < 0.5) return get(`${C}/capabilities`);
  if (p < 0.58) return { category: 'other', req: { method: 'GET', path: '/_matrix/client/versions', query: '', headers: NO_HEADERS, sourceIp: u.ip }, body: null, sticky: -1 };
  if (p < 0.64) return get(`${C}/pushrules/`);
  if (p < 0.72) return get(`${C}/rooms/${roomSeg(d, room(d))}/members`, 'not_membership=leave');
  if (p < 0.8) return get(`${C}/account/whoami`);
  if (p < 0.86) return get(`${C}/keys/changes`, 'from=s1_2&to=s3_4');
  if (p < 0.9) return get(`${C}/user/${mx}/filter/${d.rng.below(20)}`);
  if (p < 0.95) return get(`${C}/devices`);
  return get(`${C}/publicRooms`, 'limit=20');
}

function fedRead(d: Draw): GeneratedRequest {
  const o = d.world.origins[d.originZipf.sample(d.rng)]!;
  const r = room(d);
  const p = d.rng.next();
  const headers = { authorization: o.authorization };
  const mk = (method: string, path: string, query: string, body: string | null): GeneratedRequest =>
    ({ category: 'other', req: { method, path, query, headers, sourceIp: o.ips[0]! }, body, sticky: -1 });
  if (p < 0.4) return mk('GET', `/_matrix/federation/v1/event/${encodeURIComponent(eventId(d))}`, '', null);
  if (p < 0.6) return mk('GET', `/_matrix/federation/v1/state_ids/${r.encoded}`, `event_id=${encodeURIComponent(eventId(d))}`, null);
  if (p < 0.8) return mk('GET', '/_matrix/federation/v1/query/profile', `user_id=${encodeURIComponent(d.world.users[0]!.mxid)}&field=displayname`, null);
  return mk('POST', '/_matrix/key/v2/query', '', `{"server_keys":{"${o.name}":{}}}`);
}

function unmatched(d: Draw): GeneratedRequest {
  const u = user(d), dev = device(d, u);
  const p = d.rng.next();
  const at = (method: string, path: string, query = '', body: string | null = null): GeneratedRequest => client('unmatched', u, dev, method, path, query, body);
  if (p < 0.2) return at('POST', `${C}/keys/upload`, '', '{"one_time_keys":{}}');
  if (p < 0.4) return at('GET', `/_matrix/client/v1/media/download/${SERVER_NAME}/${d.rng.chars(24, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')}`);
  if (p < 0.5) return at('PUT', `${C}/pushrules/global/override/.m.rule.master/enabled`, '', '{"enabled":false}');
  if (p < 0.65) return at('GET', `${C}/notifications`, 'limit=20');
  if (p < 0.7) return at('GET', `${C}/thirdparty/protocols`);
  if (p < 0.8) return at('POST', `${C}/user/${encodeURIComponent(u.mxid)}/openid/request_token`, '', '{}');
  if (p < 0.9) return at('DELETE', `${C}/devices/D${d.rng.chars(9, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')}`);
  return at('POST', `${C}/logout`, '', '{}');
}
