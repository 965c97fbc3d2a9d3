/**
 * Issue 5 point 4: two event persisters commit out of order, and incremental sync on a worker must
 * neither skip nor repeat an event. One persister is delayed for real: the test holds a PostgreSQL
 * row lock on the current_state row its next event must update, for random (seeded) intervals,
 * while the other persister keeps committing events with higher stream IDs. Across 1,000 events,
 * every event must arrive exactly once, in order per room.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Client, startLayout, type Layout } from './harness.ts';
import { shardIndex } from '../../homeserver/config/deployment.ts';
import { rng } from '../support/rng.ts';

let layout: Layout;
before(async () => { layout = await startLayout({ workers: ['p1', 'p2', 'sync1'], events: ['p1', 'p2'] }); });
after(async () => { await layout.stop(); });

/** A separate PostgreSQL session of the layout's database, used to hold row locks. */
async function connectBlocker(l: Layout): Promise<pg.Client> {
  const args = l.main.hs.config.database.args;
  const client = new pg.Client({ host: args.host, port: args.port, user: args.user, database: args.database });
  await client.connect();
  return client;
}

/** A lock held over and over from a separate session (see lockLoop); stop() ends it and returns how often it was held. */
interface LockLoop {
  stop(): Promise<number>;
}

/**
 * Holds a lock over and over from a separate session of the layout's database: each round
 * BEGINs, lets `take` take the lock (true when taken; `holds` counts the rounds that took it),
 * keeps it 5–30 ms, ends the transaction with `end`, then waits 2–12 ms. Delays are seeded.
 */
async function lockLoop(l: Layout, seed: number, end: 'COMMIT' | 'ROLLBACK', take: (c: pg.Client, holds: number) => Promise<boolean>): Promise<LockLoop> {
  const random = rng(seed);
  const client = await connectBlocker(l);
  let done = false;
  let holds = 0;
  const loop = (async () => {
    while (!done) {
      await client.query('BEGIN');
      if (await take(client, holds)) {
        holds++;
        await new Promise((r) => setTimeout(r, 5 + random() * 25));
      }
      await client.query(end);
      await new Promise((r) => setTimeout(r, 2 + random() * 10));
    }
  })();
  return {
    async stop() {
      done = true;
      await loop;
      await client.end();
      return holds;
    },
  };
}

async function roomOwnedBy(a: Client, index: number): Promise<string> {
  for (;;) {
    const r = await a.createRoom({ preset: 'public_chat' });
    if (shardIndex(r, 2) === index) return r;
  }
}

test('1,000 events over two persisters, one delayed: no sync skips or repeats one', async () => {
  const a = await new Client(layout.main.url).register('sender');
  const b = await new Client(layout.main.url).register('reader');
  const slowRoom = await roomOwnedBy(a, 0);
  const fastRoom = await roomOwnedBy(a, 1);
  for (const r of [slowRoom, fastRoom]) await b.join(r);
  const slowPath = `/_matrix/client/v3/rooms/${encodeURIComponent(slowRoom)}/state/x.slow`;
  const setupEvent = (await a.ok('PUT', slowPath, { n: -1 })).event_id as string;

  const reader = new Client(layout.workers.sync1!.url, b.token);
  const filter = JSON.stringify({ room: { timeline: { limit: 1000, types: ['m.room.message', 'x.slow'] } } });
  let since = (await reader.sync({ filter })).next_batch;

  const locks = await lockLoop(layout, 5, 'COMMIT', async (c) => {
    await c.query(`SELECT 1 FROM current_state WHERE room_id = $1 AND type = 'x.slow' AND state_key = '' FOR UPDATE`, [slowRoom]);
    return true;
  });

  const sent = { [slowRoom]: [] as string[], [fastRoom]: [] as string[] };
  const sending = Promise.all([
    (async () => { for (let i = 0; i < 500; i++) sent[slowRoom]!.push((await a.ok('PUT', slowPath, { n: i })).event_id); })(),
    (async () => { for (let i = 0; i < 500; i++) sent[fastRoom]!.push(await a.send(fastRoom, `m${i}`)); })(),
  ]);

  const seen = { [slowRoom]: [] as string[], [fastRoom]: [] as string[] };
  let total = 0;
  let syncs = 0;
  const deadline = Date.now() + 50_000;
  while (total < 1000 && Date.now() < deadline) {
    const s = await reader.sync({ since, timeout: 2000, filter });
    syncs++;
    for (const room of [slowRoom, fastRoom]) {
      const jr = s.rooms.join[room];
      if (!jr) continue;
      assert.equal(jr.timeline.limited, false, 'timeline never limited (limit 1000)');
      // The setup event may land in the first incremental sync (committed, not yet readable at the initial one).
      for (const e of jr.timeline.events) if (e.event_id !== setupEvent) { seen[room]!.push(e.event_id); total++; }
    }
    since = s.next_batch;
  }
  await sending;
  const holds = await locks.stop();

  assert.ok(holds > 5, `the delay was applied (${holds} lock holds)`);
  for (const room of [slowRoom, fastRoom]) {
    assert.equal(new Set(seen[room]).size, seen[room]!.length, 'no event repeated');
    assert.deepEqual(seen[room], sent[room], 'every event, in order, none skipped');
  }
  assert.equal(total, 1000);
  assert.ok(syncs > 10, `incremental syncs interleaved with sending (${syncs})`);
});

test('messages taking their stream IDs inside their INSERT, one persister held mid-INSERT: no sync skips or repeats one', async () => {
  const a = await new Client(layout.main.url).register('sender2');
  const b = await new Client(layout.main.url).register('reader2');
  const slowRoom = await roomOwnedBy(a, 0);
  const sameWriterRoom = await roomOwnedBy(a, 0);
  const fastRoom = await roomOwnedBy(a, 1);
  const rooms = [slowRoom, sameWriterRoom, fastRoom];
  for (const r of rooms) await b.join(r);
  const reader = new Client(layout.workers.sync1!.url, b.token);
  const filter = JSON.stringify({ room: { timeline: { limit: 1000, types: ['m.room.message'] } } });
  let since = (await reader.sync({ filter })).next_batch;

  // The blocker inserts, uncommitted, a row with the transaction ID of a coming slow-room send: that
  // send's INSERT has already taken its stream ID from the sequence when it waits on the unique
  // (txn_key, room_id, txn_scope), until the blocker rolls back (the row carries the send's scope:
  // without it there is nothing to wait on). Meanwhile the same persister (another of its rooms) and
  // the other persister commit higher IDs.
  const N = 300;
  let next = 0;
  const locks = await lockLoop(layout, 6, 'ROLLBACK', async (c, holds) => {
    const i = next + 1;
    try {
      await c.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, sender, content, origin_server_ts, depth, instance_name, txn_key, txn_scope)
        VALUES ($1, $2, $3, 'x.block', $4, '{}', 0, 0, 'blocker', $5, 'send m.room.message')`, [-1 - holds, `$block${holds}`, slowRoom, a.userId, `${a.userId}|${a.deviceId}|slow${i}`]);
      return true;
    } catch {
      return false; // that send got there first
    }
  });

  const sent: Record<string, string[]> = Object.fromEntries(rooms.map((r) => [r, []]));
  const sending = Promise.all([
    (async () => { for (let i = 0; i < N; i++) { next = i; sent[slowRoom]!.push(await a.send(slowRoom, `s${i}`, `slow${i}`)); } })(),
    ...[sameWriterRoom, fastRoom].map(async (room) => { for (let i = 0; i < N; i++) sent[room]!.push(await a.send(room, `m${i}`)); }),
  ]);

  const seen: Record<string, string[]> = Object.fromEntries(rooms.map((r) => [r, []]));
  let total = 0;
  const deadline = Date.now() + 40_000;
  while (total < 3 * N && Date.now() < deadline) {
    const s = await reader.sync({ since, timeout: 2000, filter });
    for (const room of rooms) {
      for (const e of s.rooms.join[room]?.timeline.events ?? []) { seen[room]!.push(e.event_id); total++; }
    }
    since = s.next_batch;
  }
  await sending;
  const holds = await locks.stop();

  assert.ok(holds > 5, `the delay was applied (${holds} held inserts)`);
  for (const room of rooms) assert.deepEqual(seen[room], sent[room], 'every event, in order, none skipped or repeated');
});
