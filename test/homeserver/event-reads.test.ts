/**
 * The event reads of homeserver/storage/events.ts against a real PostgreSQL: each read carries a
 * redacted event's redaction (`redacted_because`, only a redaction of the same room, with its own
 * redacted_by and no prev_content), whichever read it is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase } from '../support/env.ts';
import { migrate } from '../../homeserver/storage/migrations.ts';
import { currentState, getEvent, roomEventsBackward, roomEventsForward, stateAt } from '../../homeserver/storage/events.ts';

let pool: pg.Pool;
const MEMBERS = 50;
const MESSAGES = 500;

before(async () => {
  pool = new pg.Pool({ connectionString: await freshDatabase('reads') });
  await migrate(pool);
  // One room: MEMBERS member events, then MESSAGES messages; a few other rooms' messages.
  await pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender, content, origin_server_ts, depth, instance_name, membership)
    SELECT g, '$m' || g, '!big', 'm.room.member', '@u' || g || ':x', '@u' || g || ':x', '{"membership":"join"}', 0, g, 'main', 'join' FROM generate_series(1, ${MEMBERS}) g`);
  await pool.query(`INSERT INTO current_state (room_id, type, state_key, event_id, stream_ordering, membership)
    SELECT '!big', 'm.room.member', '@u' || g || ':x', '$m' || g, g, 'join' FROM generate_series(1, ${MEMBERS}) g`);
  await pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender, content, origin_server_ts, depth, instance_name)
    SELECT 100000 + g, '$e' || g, CASE WHEN g % 10 = 0 THEN '!s' || (g % 7) ELSE '!big' END, 'm.room.message', NULL, '@u1:x', '{"body":"hello"}', 0, g, 'main' FROM generate_series(1, ${MESSAGES}) g`);
  // Redactions: of member $m1 and message $e1 by redactions in the room, and of $e2 by an event of
  // another room (never written so by the server, and not served as its redaction).
  await pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, state_key, sender, content, origin_server_ts, depth, instance_name) VALUES
    (200001, '$r1', '!big', 'm.room.redaction', NULL, '@u1:x', '{"redacts":"$m1","reason":"one"}', 7, 1, 'main'),
    (200002, '$r2', '!big', 'm.room.redaction', NULL, '@u1:x', '{"redacts":"$e1","reason":"two"}', 8, 1, 'main'),
    (200003, '$r3', '!s1', 'm.room.redaction', NULL, '@u1:x', '{"redacts":"$e2"}', 9, 1, 'main')`);
  await pool.query(`UPDATE events SET redacted_by = CASE event_id WHEN '$m1' THEN '$r1' WHEN '$e1' THEN '$r2' ELSE '$r3' END WHERE event_id IN ('$m1', '$e1', '$e2')`);
});
after(async () => { await pool.end(); });

test('every read carries the redaction of a redacted event, and only one of the same room', async () => {
  const because = (e: { redacted_by?: string | null | undefined; redacted_because?: { event_id: string; content: Record<string, unknown>; origin_server_ts: number } | undefined } | undefined) =>
    e && [e.redacted_by, e.redacted_because?.event_id, e.redacted_because?.content.reason, e.redacted_because?.origin_server_ts];
  assert.deepEqual(because(await getEvent(pool, '$m1')), ['$r1', '$r1', 'one', 7]);
  assert.deepEqual(because(await getEvent(pool, '$e1')), ['$r2', '$r2', 'two', 8]);
  assert.deepEqual(because(await getEvent(pool, '$e2')), ['$r3', undefined, undefined, undefined], 'a redaction of another room is not its redaction');
  assert.deepEqual(because(await getEvent(pool, '$e3')), [null, undefined, undefined, undefined]);
  const state = await stateAt(pool, '!big', 1_000_000);
  assert.equal(state.length, MEMBERS);
  assert.deepEqual(state.filter((e) => e.redacted_because).map(because), [['$r1', '$r1', 'one', 7]]);
  const current = await currentState(pool, '!big');
  assert.deepEqual(current.events.filter((e) => e.redacted_because).map(because), [['$r1', '$r1', 'one', 7]]);
  const forward = await roomEventsForward(pool, '!big', 100000, 100005, 10);
  assert.deepEqual(forward.map((e) => e.event_id), ['$e1', '$e2', '$e3', '$e4', '$e5']);
  assert.deepEqual(forward.map((e) => e.redacted_because?.event_id), ['$r2', undefined, undefined, undefined, undefined]);
  const backward = await roomEventsBackward(pool, '!big', 100005, 100000, 10);
  assert.deepEqual(backward.map((e) => e.redacted_because?.event_id), [undefined, undefined, undefined, undefined, '$r2']);
  // The redaction event itself carries no prev_content and its own (empty) redacted_by.
  assert.deepEqual([(await getEvent(pool, '$m1'))!.redacted_because!.prev_content, (await getEvent(pool, '$m1'))!.redacted_because!.redacted_by], [null, null]);
});
