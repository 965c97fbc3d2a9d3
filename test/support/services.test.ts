import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freshDatabase, redisUrl } from './env.ts';

test('the runner provides a real PostgreSQL and a real Redis', async () => {
  const client = new pg.Client({ connectionString: await freshDatabase() });
  await client.connect();
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  await client.end();
  assert.match(rows[0]!.v, /^\d+/);
  const redis = new Redis(redisUrl());
  assert.equal(await redis.ping(), 'PONG');
  redis.disconnect();
});
