/**
 * Client-server API behaviours a second review found wrong, each checked against the spec and
 * Synapse: unsigned.redacted_because is the real redaction event; /unban and /kick only change
 * a membership they are meant for; authentication comes before the request body; /messages has no `end` after the last event; retries racing their first attempt.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Client, startMain } from './harness.ts';

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });
const enc = encodeURIComponent;
let n = 0;
const user = async (p = 'v', base = hs.url) => new Client(base).register(`${p}${++n}`);
/** An event as a client gets it, without `unsigned.age` (which changes between requests). */
const ageless = (e: any) => ({ ...e, unsigned: { ...e.unsigned, age: undefined } });

test('unsigned.redacted_because is the redaction event itself, wherever the redacted event is served', async () => {
  const a = await user('rb'), b = await user('rc');
  const room = await a.createRoom({ preset: 'public_chat', topic: 'to be redacted' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  await b.join(room);
  const s0 = await b.sync();
  const id = await a.send(room, 'oops');
  const redactionId = (await a.ok('PUT', `${r}/redact/${enc(id)}/rb1`, { reason: 'typo' })).event_id;
  const redaction = await b.ok('GET', `${r}/event/${enc(redactionId)}`);
  assert.deepEqual([redaction.type, redaction.sender, redaction.redacts, redaction.content.reason], ['m.room.redaction', a.userId, id, 'typo']);
  assert.ok(redaction.origin_server_ts > 0);

  const check = (ev: any, where: string) => {
    assert.deepEqual(ev.content, {}, `${where}: content redacted`);
    assert.equal(ev.unsigned.redacted_by, redactionId, `${where}: redacted_by`);
    assert.deepEqual(ageless(ev.unsigned.redacted_because), ageless(redaction), `${where}: redacted_because is the redaction event`);
    assert.equal(typeof ev.unsigned.redacted_because.unsigned.age, 'number');
  };
  check(await b.ok('GET', `${r}/event/${enc(id)}`), 'GET /event');
  const m = await b.ok('GET', `${r}/messages?dir=b&limit=10`);
  check(m.chunk.find((e: any) => e.event_id === id), '/messages');
  // The same response carries the redaction (the redacted event is served redacted only from then).
  let s1 = await b.sync({ since: s0.next_batch, timeout: 5000 });
  for (let i = 0; i < 50 && !s1.rooms.join[room]?.timeline.events.some((e: any) => e.event_id === redactionId); i++) {
    await new Promise((res) => setTimeout(res, 20));
    s1 = await b.sync({ since: s0.next_batch, timeout: 5000 });
  }
  check(s1.rooms.join[room].timeline.events.find((e: any) => e.event_id === id), 'incremental /sync');
  const initial = await b.sync();
  check(initial.rooms.join[room].timeline.events.find((e: any) => e.event_id === id), 'initial /sync');

  // A redacted state event, in GET /state and the state of an initial /sync.
  const topic = await a.ok('GET', `${r}/state/m.room.topic?format=event`);
  const topicRedaction = await a.ok('GET', `${r}/event/${enc((await a.ok('POST', `${r}/redact/${enc(topic.event_id)}`, {})).event_id)}`);
  const state = (await b.ok('GET', `${r}/state`)).find((e: any) => e.type === 'm.room.topic');
  assert.deepEqual(ageless(state.unsigned.redacted_because), ageless(topicRedaction));
  const s2 = await a.sync({ filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
  const synced = s2.rooms.join[room].state.events.find((e: any) => e.type === 'm.room.topic');
  assert.deepEqual(ageless(synced.unsigned.redacted_because), ageless(topicRedaction));
});

test('/unban of a user who is not banned and /kick of one who is not in the room are refused, changing nothing', async () => {
  const a = await user('ma'), joined = await user('mj'), banned = await user('mb'), left = await user('ml'), invited = await user('mi'), never = await user('mn');
  const room = await a.createRoom({ preset: 'public_chat' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  await joined.join(room);
  await banned.join(room);
  await left.join(room);
  await left.ok('POST', `${r}/leave`, {});
  await a.ok('POST', `${r}/ban`, { user_id: banned.userId });
  await a.invite(room, invited.userId);
  const membership = async () => Object.fromEntries((await a.ok('GET', `${r}/members`)).chunk.map((e: any) => [e.state_key, e.content.membership]));
  const before = await membership();

  // Synapse (handlers/room_member.py): unban needs a ban (403 M_BAD_STATE), kick of a banned user
  // is 403 M_BAD_STATE, kick of a user who left (or never joined) 403 M_FORBIDDEN.
  const unbanJoined = await a.req('POST', `${r}/unban`, { user_id: joined.userId });
  assert.deepEqual([unbanJoined.status, unbanJoined.body.errcode], [403, 'M_BAD_STATE'], 'unban of a joined user');
  const unbanLeft = await a.req('POST', `${r}/unban`, { user_id: left.userId });
  assert.deepEqual([unbanLeft.status, unbanLeft.body.errcode], [403, 'M_BAD_STATE'], 'unban of a user who left');
  const unbanNever = await a.req('POST', `${r}/unban`, { user_id: never.userId });
  assert.deepEqual([unbanNever.status, unbanNever.body.errcode], [403, 'M_BAD_STATE'], 'unban of a user never in the room');
  const kickBanned = await a.req('POST', `${r}/kick`, { user_id: banned.userId });
  assert.deepEqual([kickBanned.status, kickBanned.body.errcode], [403, 'M_BAD_STATE'], 'kick of a banned user');
  const kickLeft = await a.req('POST', `${r}/kick`, { user_id: left.userId });
  assert.deepEqual([kickLeft.status, kickLeft.body.errcode], [403, 'M_FORBIDDEN'], 'kick of a user who left');
  const kickNever = await a.req('POST', `${r}/kick`, { user_id: never.userId });
  assert.deepEqual([kickNever.status, kickNever.body.errcode], [403, 'M_FORBIDDEN'], 'kick of a user never in the room');
  assert.deepEqual(await membership(), before, 'no membership changed');
  assert.equal((await banned.req('POST', `${r}/join`, {})).status, 403, 'still banned');
  await joined.send(room, 'still here');

  // What the endpoints are for still works: kick a member or an invitee, unban the banned.
  await a.ok('POST', `${r}/kick`, { user_id: joined.userId });
  await a.ok('POST', `${r}/kick`, { user_id: invited.userId });
  await a.ok('POST', `${r}/unban`, { user_id: banned.userId });
  assert.deepEqual(await membership(), { ...before, [joined.userId]: 'leave', [invited.userId]: 'leave', [banned.userId]: 'leave' });
  await banned.join(room);
});

test('authentication comes before the body: a bad body without a valid token is 401, not 400', async () => {
  const c = new Client(hs.url);
  const missing = await c.req('POST', '/_matrix/client/v3/createRoom', '{not json');
  assert.deepEqual([missing.status, missing.body.errcode], [401, 'M_MISSING_TOKEN']);
  const notObject = await c.req('PUT', '/_matrix/client/v3/rooms/!x:y/send/m.room.message/t1', '[1]');
  assert.deepEqual([notObject.status, notObject.body.errcode], [401, 'M_MISSING_TOKEN']);
  const unknown = await c.req('POST', '/_matrix/client/v3/createRoom', '{not json', 'syt_bm9ib2R5_unknown_token');
  assert.deepEqual([unknown.status, unknown.body.errcode], [401, 'M_UNKNOWN_TOKEN']);
  // A declared length over the limit is 413 before anything else, as in Synapse (the request layer refuses it).
  const huge = await fetch(`${hs.url}/_matrix/client/v3/createRoom`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024 + 1) });
  assert.deepEqual([huge.status, ((await huge.json()) as { errcode?: string }).errcode], [413, 'M_TOO_LARGE']);
  // With a valid token the body is read and judged; without auth ('none' routes) as before.
  await c.register('authfirst');
  const bad = await c.req('POST', '/_matrix/client/v3/createRoom', '{not json');
  assert.deepEqual([bad.status, bad.body.errcode], [400, 'M_NOT_JSON']);
  const reg = await c.req('POST', '/_matrix/client/v3/register', '{not json', '');
  assert.deepEqual([reg.status, reg.body.errcode], [400, 'M_NOT_JSON']);
  // The unread bodies of refused requests did not break the connections they came on.
  assert.equal((await c.ok('GET', '/_matrix/client/v3/account/whoami')).user_id, c.userId);
});

test('a declared body over the limit gets 413 and the connection is closed, not drained up to the declared length', async () => {
  const { port } = new URL(hs.url);
  const sock = connect(Number(port), '127.0.0.1');
  let text = '';
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => { text += d; });
  const closed = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 5000);
    sock.once('close', () => { clearTimeout(t); resolve(true); });
  });
  sock.write(`POST /_matrix/client/v3/createRoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{"a":`);
  const wasClosed = await closed;
  sock.destroy();
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /\r\nconnection: close\r\n/i);
  assert.match(text, /"errcode":"M_TOO_LARGE"/);
  assert.ok(wasClosed, 'the server closed the connection within 5 s instead of waiting for 64 MiB');
});

test('/messages omits end when no events are left, also when exactly limit remained', async () => {
  const a = await user('pg');
  const room = await a.createRoom({ name: 'paged' });
  for (let i = 0; i < 3; i++) await a.send(room, `m${i}`);
  const r = `/_matrix/client/v3/rooms/${enc(room)}/messages`;
  const all = await a.ok('GET', `${r}?dir=b&limit=1000`);
  const total = all.chunk.length;
  assert.ok(total > 5 && all.end === undefined);
  for (const dir of ['b', 'f']) {
    const exact = await a.ok('GET', `${r}?dir=${dir}&limit=${total}`);
    assert.equal(exact.chunk.length, total);
    assert.equal(exact.end, undefined, `dir=${dir}, limit = the number of events: no end`);
    const first = await a.ok('GET', `${r}?dir=${dir}&limit=${total - 1}`);
    assert.equal(first.chunk.length, total - 1);
    assert.equal(typeof first.end, 'string', `dir=${dir}: one event is left, so there is an end`);
    const rest = await a.ok('GET', `${r}?dir=${dir}&limit=${total - 1}&from=${first.end}`);
    assert.deepEqual(rest.chunk.map((e: any) => e.event_id), [(dir === 'b' ? all.chunk.at(-1) : all.chunk[0]).event_id]);
    assert.equal(rest.end, undefined, `dir=${dir}: the last page has no end`);
  }
});

test('rc_message: retries arriving while the first attempt is being persisted wait for it instead of being rate-limited', async () => {
  const limited = await startMain({ rc_message: { per_second: 0.01, burst_count: 1 } });
  try {
    const a = await new Client(limited.url).register('rlconcurrent');
    const room = await a.createRoom({ name: 'busy' });
    const r = `/_matrix/client/v3/rooms/${enc(room)}`;
    // Redactions (not rate-limited) queued on the room's persister first keep the send's first
    // attempt waiting there, so its retries arrive while it is still being persisted.
    const name = (await a.ok('GET', `${r}/state/m.room.name?format=event`)).event_id;
    const busy = Array.from({ length: 40 }, () => a.req('POST', `${r}/redact/${enc(name)}`, {}));
    const path = `${r}/send/m.room.message/once`;
    const tries = await Promise.all(Array.from({ length: 6 }, () => a.req('PUT', path, { msgtype: 'm.text', body: 'x' })));
    assert.ok((await Promise.all(busy)).every((b) => b.status === 200));
    assert.deepEqual(tries.map((t) => t.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(new Set(tries.map((t) => t.body.event_id)).size, 1, 'one event');
    const other = await a.req('PUT', `${r}/send/m.room.message/other`, { msgtype: 'm.text', body: 'y' });
    assert.equal(other.status, 429, 'the transaction took the one token of the bucket once');
    const m = await a.ok('GET', `${r}/messages?dir=b&limit=100`);
    assert.equal(m.chunk.filter((e: any) => e.type === 'm.room.message').length, 1);
  } finally {
    await limited.stop();
  }
});

test('sendToDevice: a transaction that reached no device is recorded too, so its retry delivers nothing', async () => {
  const a = await user('tda');
  const later = `tdlater${++n}`;
  const laterId = `@${later}:${hs.hs.serverName}`;
  const body = { messages: { [laterId]: { '*': { v: 1 } } } };
  assert.deepEqual(await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/E1', body), {}, 'no devices: nothing delivered');
  const d = await new Client(hs.url).register(later);
  assert.deepEqual(await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/E1', body), {});
  assert.deepEqual((await d.sync()).to_device.events, [], 'the retry did not deliver to the device that appeared since');
  await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/E2', body);
  assert.deepEqual((await d.sync()).to_device.events.map((e: any) => e.content.v), [1], 'a new transaction does');
});

test('sendToDevice: concurrent retries of one transaction wait for the first instead of taking stream IDs', async () => {
  const a = await user('tca'), b = await user('tcb');
  const toDevicePos = (token: string) => Number(token.slice(1).split('_')[3]);
  const s0 = await b.sync();
  const body = { messages: { [b.userId]: { [b.deviceId]: { v: 1 } } } };
  const tries = await Promise.all(Array.from({ length: 8 }, () => a.req('PUT', '/_matrix/client/v3/sendToDevice/m.test/C1', body)));
  assert.deepEqual(tries.map((t) => t.status), Array(8).fill(200));
  const s1 = await b.sync({ since: s0.next_batch });
  assert.deepEqual(s1.to_device.events.map((e: any) => e.content.v), [1]);
  // One message, one stream ID: a retry that allocated IDs would hold them (and so the stream's
  // position for every reader) until it learnt the first attempt had committed.
  assert.equal(toDevicePos(s1.next_batch) - toDevicePos(s0.next_batch), 1, 'stream IDs taken');
});
