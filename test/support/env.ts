/**
 * Shared services started by test/run.ts. Tests that need PostgreSQL create their own database
 * with `freshDatabase()`, so test files can run in parallel without seeing each other's rows.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';

/** URL of the PostgreSQL server the runner started (superuser, `postgres` database). */
export function postgresUrl(): string {
  const url = process.env.SWITCHYARD_TEST_PG;
  if (!url) throw new Error('SWITCHYARD_TEST_PG is not set: run tests with `make test` (test/run.ts starts PostgreSQL)');
  return url;
}

/** URL of the Redis server the runner started. */
export function redisUrl(): string {
  const url = process.env.SWITCHYARD_TEST_REDIS;
  if (!url) throw new Error('SWITCHYARD_TEST_REDIS is not set: run tests with `make test` (test/run.ts starts Redis)');
  return url;
}

/** Creates an empty database for one test file and returns its connection URL. */
export async function freshDatabase(prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try { await client.query(`CREATE DATABASE ${name}`); } finally { await client.end(); }
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
