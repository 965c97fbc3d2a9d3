/**
 * Workers over Redis + HTTP replication: sharded event persisters, sync on a generic worker woken
 * by replication, the replication listener's secret, and 404 M_UNRECOGNIZED for what workers do
 * not serve.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startLayout, type Layout } from './harness.ts';
import { shardIndex } from '../../homeserver/config/deployment.ts';

let layout: Layout;
before(async () => { layout = await startLayout({ workers: ['p1', 'p2', 'sync1'], events: ['p1', 'p2'], streams: { typing: ['p1'] } }); });
after(async () => { await layout.stop(); });

test("rooms persist on Synapse's shard and sync on a worker sees them", async () => {
  const a = await new Client(layout.main.url).register('ra');
  const b = await new Client(layout.main.url).register('rb');
  const bw = new Client(layout.workers.sync1!.url, b.token);
  const rooms: string[] = [];
  for (let i = 0; i < 6; i++) rooms.push(await a.createRoom({ preset: 'public_chat' }));
  for (const r of rooms) await b.join(r);
  const byPersister = new Map<string, number>();
  for (const r of rooms) {
    const owner = ['p1', 'p2'][shardIndex(r, 2)]!;
    const res = await layout.main.hs.pool.query<{ instance_name: string }>('SELECT DISTINCT instance_name FROM events WHERE room_id = $1', [r]);
    assert.deepEqual(res.rows.map((x) => x.instance_name), [owner]);
    byPersister.set(owner, (byPersister.get(owner) ?? 0) + 1);
  }
  const s0 = await bw.sync();
  for (const r of rooms) assert.ok(s0.rooms.join[r], 'joined room appears in the worker sync');
  const waiting = bw.sync({ since: s0.next_batch, timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  const id = await a.send(rooms[0]!, 'hello via persister');
  const s1 = await waiting;
  assert.deepEqual(s1.rooms.join[rooms[0]!].timeline.events.map((e: any) => e.event_id), [id]);
  assert.ok(Date.now() - t0 < 2000, 'woken promptly by replication');
});

test('sending through a worker uses HTTP replication to the persister; typing goes to its writer', async () => {
  const reg = await new Client(layout.main.url).register('wa');
  const a = new Client(layout.workers.sync1!.url, reg.token);
  a.userId = reg.userId;
  const room = await a.createRoom();
  const id = await a.send(room, 'from a worker');
  const ev = await a.ok('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/event/${encodeURIComponent(id)}`);
  assert.equal(ev.content.body, 'from a worker');
  const s0 = await a.sync();
  const wait = a.sync({ since: s0.next_batch, timeout: 10_000 });
  await a.ok('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/typing/${encodeURIComponent(a.userId)}`, { typing: true, timeout: 5000 });
  const s1 = await wait;
  assert.deepEqual(s1.rooms.join[room].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [a.userId] } }]);
});

test('replication endpoints: only on replication listeners, and only with the secret', async () => {
  const w = layout.workers.p1!;
  const replUrl = `http://127.0.0.1:${w.ports[1]}`;
  const none = await fetch(`${replUrl}/_synapse/replication/send_events`, { method: 'POST', body: '{}' });
  assert.equal(none.status, 401);
  const wrong = await fetch(`${replUrl}/_synapse/replication/send_events`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  const onClient = await fetch(`${w.url}/_synapse/replication/send_events`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer repl-secret' } });
  assert.equal(onClient.status, 404);
  assert.equal(((await onClient.json()) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
});

test('a worker answers 404 M_UNRECOGNIZED for main-only and unknown endpoints', async () => {
  const c = await new Client(layout.main.url).register('wu');
  const wc = new Client(layout.workers.sync1!.url, c.token);
  const logout = await wc.req('POST', '/_matrix/client/v3/logout', {});
  assert.deepEqual([logout.status, logout.body.errcode], [404, 'M_UNRECOGNIZED']);
  const admin = await wc.req('GET', '/_synapse/admin/v1/register');
  assert.deepEqual([admin.status, admin.body.errcode], [404, 'M_UNRECOGNIZED']);
  assert.equal((await wc.ok('GET', '/_matrix/client/v3/account/whoami')).user_id, c.userId);
});
