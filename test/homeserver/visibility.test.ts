/**
 * Read rules through the API: non-members can neither read nor send (403 M_FORBIDDEN), and
 * history visibility decides what a member sees of the time before they joined or after they left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startMain } from './harness.ts';

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });

let n = 0;
async function pair() {
  n++;
  return [await new Client(hs.url).register(`va${n}`), await new Client(hs.url).register(`vb${n}`)] as const;
}
const enc = encodeURIComponent;
const bodies = (r: any) => r.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body);

async function roomWithVisibility(a: Client, hv: string): Promise<string> {
  const room = await a.createRoom({ preset: 'public_chat' });
  await a.ok('PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/m.room.history_visibility`, { history_visibility: hv });
  await a.send(room, 'before');
  return room;
}

test('a non-member can neither read nor send', async () => {
  const [a, b] = await pair();
  const room = await a.createRoom({ preset: 'private_chat' });
  await a.send(room, 'secret');
  for (const path of ['messages?dir=b', 'state', 'members', `state/m.room.create`, 'joined_members']) {
    const r = await b.req('GET', `/_matrix/client/v3/rooms/${enc(room)}/${path}`);
    assert.deepEqual([r.status, r.body.errcode], [403, 'M_FORBIDDEN'], path);
  }
  const s = await b.req('PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/x`, { msgtype: 'm.text', body: 'hi' });
  assert.deepEqual([s.status, s.body.errcode], [403, 'M_FORBIDDEN']);
  const j = await b.req('POST', `/_matrix/client/v3/rooms/${enc(room)}/join`, {});
  assert.deepEqual([j.status, j.body.errcode], [403, 'M_FORBIDDEN'], 'invite-only');
  const unknown = await b.req('POST', `/_matrix/client/v3/join/${enc('!nope:x')}`, {});
  assert.equal(unknown.status, 404);
});

test('history_visibility shared: a new member sees earlier messages', async () => {
  const [a, b] = await pair();
  const room = await roomWithVisibility(a, 'shared');
  await b.join(room);
  assert.deepEqual(bodies(await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=50`)), ['before']);
});

test('history_visibility joined: a new member does not see earlier messages', async () => {
  const [a, b] = await pair();
  const room = await roomWithVisibility(a, 'joined');
  await b.join(room);
  await a.send(room, 'after');
  assert.deepEqual(bodies(await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=50`)), ['after']);
});

test('history_visibility invited: visible from the invite on', async () => {
  const [a, b] = await pair();
  const room = await roomWithVisibility(a, 'invited');
  await b.invite(room, b.userId).catch(() => undefined);
  await a.invite(room, b.userId);
  await a.send(room, 'while invited');
  await b.join(room);
  assert.deepEqual(bodies(await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=50`)), ['while invited']);
});

test('history_visibility world_readable: non-members may read', async () => {
  const [a, b] = await pair();
  const room = await roomWithVisibility(a, 'world_readable');
  assert.deepEqual(bodies(await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=50`)), ['before']);
});

test('a member who left reads up to their leave, not after', async () => {
  const [a, b] = await pair();
  const room = await a.createRoom({ preset: 'public_chat' });
  await b.join(room);
  await a.send(room, 'while there');
  await b.ok('POST', `/_matrix/client/v3/rooms/${enc(room)}/leave`, {});
  await a.send(room, 'after leaving');
  assert.deepEqual(bodies(await b.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=50`)), ['while there']);
  const s = await b.sync({ filter: JSON.stringify({ room: { include_leave: true } }) });
  assert.ok(s.rooms.leave[room], 'leave section');
  assert.ok(!s.rooms.leave[room].timeline.events.some((e: any) => e.content.body === 'after leaving'));
});

test('rc_message limits sends with 429 M_LIMIT_EXCEEDED and retry_after_ms', async () => {
  const limited = await startMain({ rc_message: { per_second: 0.1, burst_count: 3 } });
  try {
    const a = await new Client(limited.url).register('rl');
    const room = await a.createRoom();
    for (let i = 0; i < 3; i++) await a.send(room, `ok ${i}`);
    const r = await a.req('PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/over`, { msgtype: 'm.text', body: 'x' });
    assert.deepEqual([r.status, r.body.errcode], [429, 'M_LIMIT_EXCEEDED']);
    assert.ok(r.body.retry_after_ms > 0);
  } finally {
    await limited.stop();
  }
});
