/**
 * Versioned schema migrations. Main applies them at start under a PostgreSQL advisory lock (two
 * mains racing cannot both migrate); workers wait until the schema reaches the version they were
 * built for, so a worker never runs against a half-built database (issue 5, point 2).
 */
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { MIGRATIONS } from './schema-sql.ts';

const LOCK_KEY = 0x5357_4859; // 'SWHY'

/** The schema version this code needs. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Applies pending migrations (main only). Each migration runs in its own transaction. `target`
 * stops at an earlier version (tests build a database as an older release left it).
 */
export async function migrate(pool: pg.Pool, target = MIGRATIONS.length): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL, applied_ts bigint NOT NULL)');
    let current = await currentVersion(client);
    // A newer release migrated this database: running older code on it could misread or damage rows.
    if (current > MIGRATIONS.length) throw newerSchema(current);
    for (; current < target; current++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[current]!);
        await client.query('INSERT INTO schema_version (version, applied_ts) VALUES ($1, $2)', [current + 1, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
    return current;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

function newerSchema(version: number): Error {
  return new Error(`the database schema is at version ${version}, newer than this release's ${SCHEMA_VERSION}: run the release that migrated it (or newer)`);
}

async function currentVersion(q: pg.PoolClient | pg.Pool): Promise<number> {
  const r = await q.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
  return r.rows[0]?.v ?? 0;
}

/** Waits (workers) until main has migrated to SCHEMA_VERSION; refuses a schema a newer release migrated. */
export async function waitForSchema(pool: pg.Pool, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let version = -1;
    try {
      version = await currentVersion(pool);
    } catch { /* table not created yet */ }
    if (version > SCHEMA_VERSION) throw newerSchema(version);
    if (version === SCHEMA_VERSION) return;
    if (Date.now() > deadline) throw new Error(`database schema did not reach version ${SCHEMA_VERSION}: is main running?`);
    await sleep(200);
  }
}
