#!/usr/bin/env node
/**
 * `homeserver --config homeserver.yaml [--config worker.yaml]`: the same shape as
 * `python -m synapse.app.generic_worker --config-file homeserver.yaml --config-file worker.yaml`.
 * Later files override earlier ones key by key. Config errors print as file:line:column and exit 2.
 */
import pino from 'pino';
import { ConfigError } from '../config/errors.ts';
import { loadHomeserverConfig } from './config/load.ts';
import { startHomeserver } from './app.ts';

const HELP = `Usage: homeserver --config homeserver.yaml [--config worker.yaml ...]

Runs the main process (worker_app unset or synapse.app.homeserver) or a worker
(worker_app: synapse.app.generic_worker, worker_name, worker_listeners), reading
Synapse's configuration keys. SIGINT/SIGTERM stop it cleanly.`;

function parseArgs(argv: string[]): string[] | undefined {
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c' || a === '--config-file') {
      const f = argv[++i];
      if (!f) return undefined;
      files.push(f);
    } else if (a.startsWith('--config=')) files.push(a.slice('--config='.length));
    else return undefined;
  }
  return files.length > 0 ? files : undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { console.log(HELP); return 0; }
  const files = parseArgs(argv);
  if (!files) { console.error(HELP); return 2; }
  let loaded;
  try {
    loaded = loadHomeserverConfig(files);
  } catch (err) {
    if (err instanceof ConfigError) { console.error(err.message); return 2; }
    throw err;
  }
  const log = pino({ name: loaded.config.worker_name ?? 'main', level: process.env.SWITCHYARD_LOG_LEVEL ?? 'info' });
  if (loaded.ignoredKeys.length > 0) log.info({ keys: loaded.ignoredKeys }, 'ignoring Synapse configuration keys this server does not use');
  const running = await startHomeserver(loaded.config, { log });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  log.info('stopping');
  // A stuck pool or socket must not keep a stopped process alive: give stop() 5 s, then exit.
  await Promise.race([running.stop(), new Promise((r) => setTimeout(r, 5000).unref())]);
  setTimeout(() => process.exit(0), 100).unref();
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
