/**
 * The PostgreSQL pool (Synapse's `database.args`: cp_min/cp_max become the pool bounds) and a
 * transaction helper, so related writes commit together or not at all (issue 5, point 2).
 */
import pg from 'pg';
import type { HomeserverConfig } from '../config/schema.ts';

/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Opens a pool from the `database` section. */
export function openPool(config: HomeserverConfig, applicationName: string): pg.Pool {
  const a = config.database.args;
  return new pg.Pool({
    host: a.host,
    port: a.port,
    user: a.user,
    password: a.password,
    database: a.database ?? a.dbname,
    min: a.cp_min,
    max: Math.max(a.cp_min, a.cp_max),
    application_name: applicationName,
  });
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
