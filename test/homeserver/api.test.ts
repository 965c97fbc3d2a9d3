/**
 * The rest of the client API on one process: profiles (and the member events they update),
 * aliases and the directories, redaction, state keys with slashes, filters, lazy loading, devices
 * and keys, receipts, to-device, account data, presence, forget, size limits.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startMain } from './harness.ts';

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });
const enc = encodeURIComponent;
let n = 0;
const user = async (p = 'u') => new Client(hs.url).register(`${p}${++n}`);

test('display name changes update member events in joined rooms', async () => {
  const a = await user('pa'), b = await user('pb');
  const room = await a.createRoom({ preset: 'public_chat' });
  await b.join(room);
  const s0 = await b.sync();
  await a.ok('PUT', `/_matrix/client/v3/profile/${enc(a.userId)}/displayname`, { displayname: 'Alice A.' });
  assert.deepEqual(await b.ok('GET', `/_matrix/client/v3/profile/${enc(a.userId)}`), { displayname: 'Alice A.' });
  const s1 = await b.sync({ since: s0.next_batch, timeout: 5000 });
  const ev = s1.rooms.join[room].timeline.events.find((e: any) => e.type === 'm.room.member');
  assert.equal(ev.content.displayname, 'Alice A.');
  assert.equal(ev.unsigned.prev_content.displayname, a.userId.slice(1).split(':')[0]);
  const jm = await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/joined_members`);
  assert.equal(jm.joined[a.userId].display_name, 'Alice A.');
  const bad = await a.req('PUT', `/_matrix/client/v3/profile/${enc(b.userId)}/displayname`, { displayname: 'x' });
  assert.equal(bad.status, 403);
});

test('aliases, join by alias, publicRooms, user directory', async () => {
  const a = await user('da'), b = await user('db');
  const room = await a.createRoom({ preset: 'public_chat', visibility: 'public', room_alias_name: `lobby${n}`, name: 'Lobby', topic: 'hi' });
  const alias = `#lobby${n}:${hs.hs.serverName}`;
  const dup = await a.req('POST', '/_matrix/client/v3/createRoom', { room_alias_name: `lobby${n}` });
  assert.equal(dup.body.errcode, 'M_ROOM_IN_USE');
  assert.equal((await b.ok('GET', `/_matrix/client/v3/directory/room/${enc(alias)}`)).room_id, room);
  await b.ok('POST', `/_matrix/client/v3/join/${enc(alias)}`, {});
  const pr = await b.ok('GET', '/_matrix/client/v3/publicRooms');
  const entry = pr.chunk.find((r: any) => r.room_id === room);
  assert.deepEqual([entry.name, entry.topic, entry.num_joined_members, entry.canonical_alias], ['Lobby', 'hi', 2, alias]);
  assert.deepEqual((await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/aliases`)).aliases, [alias]);
  const found = await b.ok('POST', '/_matrix/client/v3/user_directory/search', { search_term: 'da' });
  assert.ok(found.results.some((r: any) => r.user_id === a.userId));
  const joined = await b.ok('GET', '/_matrix/client/v3/joined_rooms');
  assert.ok(joined.joined_rooms.includes(room));
});

test('membership: kick, ban, unban, forget', async () => {
  const a = await user('ka'), b = await user('kb');
  const room = await a.createRoom({ preset: 'public_chat' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  await b.join(room);
  await a.ok('POST', `${r}/kick`, { user_id: b.userId, reason: 'bye' });
  await b.join(room);
  await a.ok('POST', `${r}/ban`, { user_id: b.userId });
  assert.equal((await b.req('POST', `${r}/join`, {})).status, 403);
  await a.ok('POST', `${r}/unban`, { user_id: b.userId });
  await b.join(room);
  const members = await a.ok('GET', `${r}/members`);
  assert.equal(members.chunk.filter((e: any) => e.content.membership === 'join').length, 2);
  assert.equal((await b.req('POST', `${r}/forget`, {})).status, 400, 'must leave first');
  await b.ok('POST', `${r}/leave`, {});
  await b.ok('POST', `${r}/forget`, {});
});

test('redaction, state keys with slashes, event GET, oversized events', async () => {
  const a = await user('ra');
  const room = await a.createRoom();
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  const id = await a.send(room, 'oops');
  await a.ok('PUT', `${r}/redact/${enc(id)}/t1`, { reason: 'typo' });
  const ev = await a.ok('GET', `${r}/event/${enc(id)}`);
  assert.deepEqual(ev.content, {});
  assert.ok(ev.unsigned.redacted_because);
  await a.ok('PUT', `${r}/state/x.path/a/b/c`, { v: 1 });
  assert.deepEqual(await a.ok('GET', `${r}/state/x.path/a/b/c`), { v: 1 });
  assert.equal((await a.req('GET', `${r}/state/x.path/a/b`)).status, 404);
  const big = await a.req('PUT', `${r}/send/m.room.message/big`, { body: 'x'.repeat(70_000) });
  assert.deepEqual([big.status, big.body.errcode], [413, 'M_TOO_LARGE']);
});

test('filters by ID, lazy-loaded members, full_state', async () => {
  const a = await user('fa'), b = await user('fb'), c = await user('fc');
  const room = await a.createRoom({ preset: 'public_chat' });
  await b.join(room);
  await c.join(room);
  await b.send(room, 'from b');
  const { filter_id } = await a.ok('POST', `/_matrix/client/v3/user/${enc(a.userId)}/filter`, { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } });
  assert.equal((await a.ok('GET', `/_matrix/client/v3/user/${enc(a.userId)}/filter/${filter_id}`)).room.timeline.limit, 1);
  const s = await a.sync({ filter: filter_id });
  const jr = s.rooms.join[room];
  assert.equal(jr.timeline.events.length, 1);
  const members = jr.state.events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
  assert.deepEqual(members, [a.userId, b.userId].sort(), 'only the timeline sender and self');
  const full = await a.sync({ since: s.next_batch, full_state: 'true' });
  assert.ok(full.rooms.join[room].state.events.some((e: any) => e.type === 'm.room.create'));
});

test('devices and keys: upload, query, claim, changes; delete needs the password', async () => {
  const a = await user('ea');
  const devices = await a.ok('GET', '/_matrix/client/v3/devices');
  assert.deepEqual(devices.devices.map((d: any) => d.device_id), [a.deviceId]);
  const s0 = await a.sync();
  const up = await a.ok('POST', '/_matrix/client/v3/keys/upload', {
    device_keys: { user_id: a.userId, device_id: a.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { [`curve25519:${a.deviceId}`]: 'k' }, signatures: {} },
    one_time_keys: { 'signed_curve25519:AAAA': { key: 'x' }, 'signed_curve25519:AAAB': { key: 'y' } },
  });
  assert.deepEqual(up.one_time_key_counts, { signed_curve25519: 2 });
  const q = await a.ok('POST', '/_matrix/client/v3/keys/query', { device_keys: { [a.userId]: [] } });
  assert.ok(q.device_keys[a.userId][a.deviceId]);
  const claim = await a.ok('POST', '/_matrix/client/v3/keys/claim', { one_time_keys: { [a.userId]: { [a.deviceId]: 'signed_curve25519' } } });
  assert.equal(Object.keys(claim.one_time_keys[a.userId][a.deviceId]).length, 1);
  const s1 = await a.sync({ since: s0.next_batch });
  assert.deepEqual(s1.device_lists.changed, [a.userId]);
  assert.deepEqual(s1.device_one_time_keys_count, { signed_curve25519: 1 });
  const ch = await a.ok('GET', `/_matrix/client/v3/keys/changes?from=${s0.next_batch}&to=${s1.next_batch}`);
  assert.deepEqual(ch.changed, [a.userId]);
  const del = await a.req('DELETE', `/_matrix/client/v3/devices/${a.deviceId}`, {});
  assert.equal(del.status, 401);
  assert.deepEqual(del.body.flows, [{ stages: ['m.login.password'] }]);
});

test('receipts, to-device, account data, tags, presence appear in sync', async () => {
  const a = await user('ea'), b = await user('eb');
  const room = await a.createRoom({ preset: 'public_chat' });
  await b.join(room);
  const id = await a.send(room, 'read me');
  const s0 = await a.sync();
  await b.ok('POST', `/_matrix/client/v3/rooms/${enc(room)}/receipt/m.read/${enc(id)}`, {});
  await b.ok('PUT', `/_matrix/client/v3/sendToDevice/m.test/t1`, { messages: { [a.userId]: { '*': { hello: 'device' } } } });
  await a.ok('PUT', `/_matrix/client/v3/user/${enc(a.userId)}/account_data/m.test.global`, { g: 1 });
  await a.ok('PUT', `/_matrix/client/v3/user/${enc(a.userId)}/rooms/${enc(room)}/tags/m.favourite`, { order: 0.5 });
  await a.ok('PUT', `/_matrix/client/v3/presence/${enc(a.userId)}/status`, { presence: 'online', status_msg: 'here' });
  const s1 = await a.sync({ since: s0.next_batch });
  const jr = s1.rooms.join[room];
  const receipt = jr.ephemeral.events.find((e: any) => e.type === 'm.receipt');
  assert.ok(receipt.content[id]['m.read'][b.userId].ts);
  assert.deepEqual(s1.to_device.events, [{ sender: b.userId, type: 'm.test', content: { hello: 'device' } }]);
  assert.deepEqual(s1.account_data.events, [{ type: 'm.test.global', content: { g: 1 } }]);
  assert.deepEqual(jr.account_data.events, [{ type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]);
  assert.equal(s1.presence.events[0].content.presence, 'online');
  assert.deepEqual(await a.ok('GET', `/_matrix/client/v3/user/${enc(a.userId)}/account_data/m.test.global`), { g: 1 });
  const s2 = await a.sync({ since: s1.next_batch });
  assert.deepEqual(s2.to_device.events, [], 'to-device messages are delivered once');
  assert.equal((await a.ok('GET', `/_matrix/client/v3/presence/${enc(a.userId)}/status`)).status_msg, 'here');
});

test('capabilities and register/available', async () => {
  const a = await user('ca');
  const caps = await a.ok('GET', '/_matrix/client/v3/capabilities');
  assert.equal(caps.capabilities['m.room_versions'].default, '10');
  assert.equal((await a.req('GET', `/_matrix/client/v3/register/available?username=ca${n}`)).body.errcode, 'M_USER_IN_USE');
  assert.equal((await a.ok('GET', '/_matrix/client/v3/register/available?username=nobody-here')).available, true);
});
