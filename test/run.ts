/**
 * The test runner behind `make test`: starts one real PostgreSQL and one real Redis on free
 * loopback ports, runs every test file with Node's test runner, and stops both by PID.
 * Usage: node test/run.ts [substring-of-test-path ...]
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { startPostgres, startRedis, type Service } from './support/services.ts';

const filters = process.argv.slice(2);
const files = globSync('test/**/*.test.ts').filter((f) => filters.length === 0 || filters.some((p) => f.includes(p))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const services: Service[] = [];
async function stopAll(): Promise<void> {
  await Promise.allSettled(services.splice(0).map((s) => s.stop()));
}

let code = 1;
try {
  const [pgsvc, redis] = await Promise.all([startPostgres(), startRedis()]);
  services.push(pgsvc, redis);
  console.log(`test services: postgres ${pgsvc.url} (pid ${pgsvc.pid}), redis ${redis.url} (pid ${redis.pid})`);
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
    stdio: 'inherit',
    env: { ...process.env, SWITCHYARD_TEST_PG: pgsvc.url, SWITCHYARD_TEST_REDIS: redis.url },
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
} catch (err) {
  console.error(err);
} finally {
  await stopAll();
}
process.exit(code);
