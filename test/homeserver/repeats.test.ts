/**
 * Repeated requests after the first one succeeded, checked against Synapse
 * (handlers/room_member.py update_membership_locked, handlers/message.py deduplicate_state_event):
 * a membership change whose sender and content equal the target's current member event writes no
 * new event and answers with that event; /kick and /unban check the target's membership first, so
 * their repeats are refused as in Synapse.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startMain } from './harness.ts';

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });
const enc = encodeURIComponent;
let n = 0;
const user = async (p = 'rp') => new Client(hs.url).register(`${p}${++n}`);

/** The room's m.room.member events, oldest first, as [sender, state_key, membership, event_id]. */
async function memberEvents(c: Client, room: string): Promise<[string, string, string, string][]> {
  const m = await c.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=100`);
  return m.chunk.filter((e: any) => e.type === 'm.room.member').reverse().map((e: any) => [e.sender, e.state_key, e.content.membership, e.event_id]);
}

test('a repeated membership change with the same sender and content writes no new event', async () => {
  const a = await user(), b = await user(), c = await user(), d = await user();
  const room = await a.createRoom({ preset: 'public_chat' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  for (const u of [b, c, d]) await u.join(room);

  // /join again with the same profile: the join already there (Synapse: test_deduplicate_joins).
  const joins = (await memberEvents(a, room)).length;
  await b.join(room);
  assert.equal((await memberEvents(a, room)).length, joins, 'a repeated join writes nothing');

  // /ban twice with the same reason: one ban event; a different reason is a new event.
  await a.ok('POST', `${r}/ban`, { user_id: b.userId, reason: 'spam' });
  const afterBan = await memberEvents(a, room);
  await a.ok('POST', `${r}/ban`, { user_id: b.userId, reason: 'spam' });
  assert.deepEqual(await memberEvents(a, room), afterBan, 'a repeated ban writes nothing');
  await a.ok('POST', `${r}/ban`, { user_id: b.userId, reason: 'more spam' });
  assert.equal((await memberEvents(a, room)).length, afterBan.length + 1, 'a ban with another reason is a new event');

  // /leave twice: the second is answered 200 with the first leave (it was 403 "not in this room").
  await c.ok('POST', `${r}/leave`, { reason: 'bye' });
  const afterLeave = await memberEvents(a, room);
  const again = await c.req('POST', `${r}/leave`, { reason: 'bye' });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(await memberEvents(a, room), afterLeave, 'a repeated leave writes nothing');
  const other = await c.req('POST', `${r}/leave`, { reason: 'another reason' });
  assert.deepEqual([other.status, other.body.errcode], [403, 'M_FORBIDDEN'], 'a different leave is still refused');

  // A kick through the state endpoint, repeated: the same event ID.
  const path = `${r}/state/m.room.member/${enc(d.userId)}`;
  const first = await a.ok('PUT', path, { membership: 'leave', reason: 'out' });
  const second = await a.ok('PUT', path, { membership: 'leave', reason: 'out' });
  assert.equal(second.event_id, first.event_id, 'the repeated state PUT answers with the existing event');
});

test('a repeated /kick or /unban is refused as in Synapse, which checks the membership before duplicates', async () => {
  const a = await user(), b = await user(), c = await user();
  const room = await a.createRoom({ preset: 'public_chat' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  await b.join(room);
  await c.join(room);
  await a.ok('POST', `${r}/kick`, { user_id: b.userId, reason: 'spam' });
  await a.ok('POST', `${r}/ban`, { user_id: c.userId });
  await a.ok('POST', `${r}/unban`, { user_id: c.userId });
  const before = await memberEvents(a, room);
  // Synapse: the kick of a user whose membership is leave is 403 "The target user is not in the
  // room" (its early duplicate check compares the request content, which has no membership key, so
  // it never matches for /kick), and /unban of a user who is not banned is 403 M_BAD_STATE.
  const kick = await a.req('POST', `${r}/kick`, { user_id: b.userId, reason: 'spam' });
  assert.deepEqual([kick.status, kick.body.errcode], [403, 'M_FORBIDDEN']);
  const unban = await a.req('POST', `${r}/unban`, { user_id: c.userId });
  assert.deepEqual([unban.status, unban.body.errcode], [403, 'M_BAD_STATE']);
  assert.deepEqual(await memberEvents(a, room), before, 'nothing written');
});

test('an event redacted twice keeps its first redaction as redacted_by and redacted_because', async () => {
  const a = await user(), b = await user();
  const room = await a.createRoom({ preset: 'public_chat' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  await b.join(room);
  const id = await b.send(room, 'x');
  const first = (await b.ok('PUT', `${r}/redact/${enc(id)}/t1`, { reason: 'first' })).event_id;
  const second = (await a.ok('PUT', `${r}/redact/${enc(id)}/t2`, { reason: 'second' })).event_id;
  assert.notEqual(second, first, 'the second redaction is an event of its own');
  const ev = await a.ok('GET', `${r}/event/${enc(id)}`);
  assert.equal(ev.unsigned.redacted_by, first);
  assert.deepEqual([ev.unsigned.redacted_because.event_id, ev.unsigned.redacted_because.sender, ev.unsigned.redacted_because.content.reason], [first, b.userId, 'first']);
});
