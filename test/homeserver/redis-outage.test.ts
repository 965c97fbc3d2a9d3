/**
 * Issue 5 point 3: a Redis outage delays delivery, never loses it. A private Redis is killed while
 * messages are sent; sync on a worker still receives every one (from PostgreSQL), and after Redis
 * comes back on the same port, delivery resumes through it; nothing is lost or repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startLayout } from './harness.ts';
import { startRedis } from '../support/services.ts';

test('killing and restarting Redis delays but never loses events', async () => {
  let redis = await startRedis();
  let layout: Awaited<ReturnType<typeof startLayout>> | undefined;
  try {
    layout = await startLayout({ workers: ['p1', 'p2', 'sync1'], events: ['p1', 'p2'], redis: redis.url });
    const a = await new Client(layout.main.url).register('oa');
    const b = await new Client(layout.main.url).register('ob');
    const rooms = [await a.createRoom({ preset: 'public_chat' }), await a.createRoom({ preset: 'public_chat' })];
    for (const r of rooms) await b.join(r);
    const reader = new Client(layout.workers.sync1!.url, b.token);
    let since = (await reader.sync()).next_batch;
    const received: string[] = [];
    const sent: string[] = [];
    const drain = async (count: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (received.length < count && Date.now() < deadline) {
        const s = await reader.sync({ since, timeout: 1000 });
        for (const r of rooms) for (const e of s.rooms.join[r]?.timeline.events ?? []) if (e.type === 'm.room.message') received.push(e.event_id);
        since = s.next_batch;
      }
    };
    for (let i = 0; i < 10; i++) sent.push(await a.send(rooms[i % 2]!, `before ${i}`));
    await drain(10, 10_000);
    assert.equal(received.length, 10);

    await redis.stop();
    for (let i = 0; i < 20; i++) sent.push(await a.send(rooms[i % 2]!, `during ${i}`));
    await drain(30, 15_000);
    assert.equal(received.length, 30, 'events sent while Redis was down arrive via PostgreSQL');

    redis = await startRedis(redis.port);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(layout.workers.sync1!.hs.bus.redisConnected, 'the worker reconnected to Redis');
    for (let i = 0; i < 10; i++) sent.push(await a.send(rooms[i % 2]!, `after ${i}`));
    await drain(40, 10_000);
    assert.deepEqual([...received].sort(), [...sent].sort());
    assert.equal(new Set(received).size, received.length, 'nothing repeated');
  } finally {
    await layout?.stop();
    await redis.stop();
  }
});
