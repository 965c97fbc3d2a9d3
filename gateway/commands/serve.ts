/**
 * `gateway serve --routes routes.yaml` (also plain `gateway --routes routes.yaml`): runs the data
 * plane (issue 3). SIGHUP reloads routes.yaml (point 5), SIGTERM drains and exits 0 (point 6),
 * `--workers N` runs N processes on the same listeners through node:cluster (point 9).
 */
import cluster from 'node:cluster';
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../config/errors.ts';
import { eventLogger, type AccessLogTarget } from '../access-log.ts';
import { Gateway } from '../server.ts';
import { servePrimaryMetrics, setupWorkerMetrics } from '../cluster-metrics.ts';

export const summary = 'run the gateway: proxy the listeners of routes.yaml to the upstream workers';
export const help = `Usage: gateway [serve] --routes routes.yaml [options]

Options:
  --routes FILE          the routes file (required)
  --access-log FILE      write the JSON access log to FILE (default: stdout)
  --no-access-log        no access log (benchmarks)
  --watch                reload when the routes file changes (SIGHUP always reloads)
  --workers N            run N processes sharing the listeners (default 1)
  --drain-timeout MS     longest wait for in-flight requests on SIGTERM (default 30000)

Signals: SIGHUP reloads routes.yaml (an invalid file is rejected and the old routes stay);
SIGTERM/SIGINT stop accepting, drain in-flight requests up to --drain-timeout, and exit 0.
The admin listener serves /metrics, /status and /status.html.`;

interface ServeArgs {
  routes: string;
  accessLog: AccessLogTarget;
  watch: boolean;
  workers: number;
  drainTimeout: number;
}

function parse(argv: string[]): ServeArgs | string {
  const { values } = parseArgs({
    args: argv, allowPositionals: false, strict: true,
    options: {
      routes: { type: 'string' }, 'access-log': { type: 'string' }, 'no-access-log': { type: 'boolean' },
      watch: { type: 'boolean' }, workers: { type: 'string' }, 'drain-timeout': { type: 'string' },
    },
  });
  if (!values.routes) return '--routes FILE is required';
  const workers = Number(values.workers ?? 1);
  const drainTimeout = Number(values['drain-timeout'] ?? 30_000);
  if (!Number.isInteger(workers) || workers < 1) return '--workers must be a positive integer';
  if (!Number.isFinite(drainTimeout) || drainTimeout < 0) return '--drain-timeout must be a number of milliseconds';
  const accessLog: AccessLogTarget = values['no-access-log'] ? { kind: 'off' } : values['access-log'] ? { kind: 'file', path: values['access-log'] } : { kind: 'stdout' };
  return { routes: resolve(values.routes), accessLog, watch: values.watch ?? false, workers, drainTimeout };
}

/** Runs the gateway until SIGTERM; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  let args: ServeArgs | string;
  try {
    args = parse(argv);
  } catch (err) {
    args = (err as Error).message;
  }
  if (typeof args === 'string') {
    console.error(`gateway serve: ${args}\n\n${help}`);
    return 2;
  }
  if (args.workers > 1 && cluster.isPrimary) return runPrimary(args);
  return runWorker(args);
}

async function runWorker(args: ServeArgs): Promise<number> {
  const log = eventLogger();
  let gw: Gateway;
  try {
    gw = new Gateway({ routesFile: args.routes, accessLog: args.accessLog, drainTimeout: args.drainTimeout, log });
    if (cluster.isWorker) setupWorkerMetrics(gw.metrics.registry);
    await gw.listen();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `gateway serve: ${(err as Error).message}`);
    return 1;
  }
  process.on('SIGHUP', () => gw.reload());
  if (args.watch) watchFile(args.routes, () => gw.reload());
  const signal = await firstSignal();
  log.info({ signal, in_flight: gw.active }, 'draining');
  const result = await gw.shutdown();
  log.info({ result }, 'stopped');
  setTimeout(() => process.exit(0), 1000).unref(); // a lingering handle must not keep a stopped gateway alive
  return 0;
}

/**
 * Resolves on the first SIGTERM/SIGINT. The handlers stay installed, so a second signal (a
 * process-group SIGTERM reaches cluster workers twice: directly and forwarded) cannot kill a
 * draining process.
 */
function firstSignal(): Promise<string> {
  return new Promise((res) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => res(sig));
  });
}

/** Reloads when the file (or an editor's rename over it) changes, debounced. */
function watchFile(file: string, reload: () => void): void {
  let timer: NodeJS.Timeout | null = null;
  watch(dirname(file), (_event, name) => {
    if (name !== basename(file)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, 200);
  }).unref();
}

async function runPrimary(args: ServeArgs): Promise<number> {
  const log = eventLogger();
  servePrimaryMetrics();
  const workers = Array.from({ length: args.workers }, () => cluster.fork());
  let stopping = false;
  cluster.on('exit', (w, code, sig) => {
    if (stopping) return;
    log.error({ worker: w.process.pid, code, signal: sig }, 'worker died; starting a new one');
    workers.push(cluster.fork());
  });
  process.on('SIGHUP', () => { for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP'); });
  await firstSignal();
  stopping = true;
  const alive = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(alive.map((w) => new Promise<void>((res) => {
    w.once('exit', () => res());
    w.process.kill('SIGTERM');
  })));
  return 0;
}
