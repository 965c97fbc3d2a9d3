/**
 * `make demo`: from nothing, PostgreSQL and Redis (data in .demo/, git-ignored), main, two sync
 * workers, one client worker, two event persisters and a stream writer — configured with Synapse's
 * keys in .demo/homeserver.yaml and .demo/workers/ — then the gateway on 127.0.0.1:8008 with
 * routes that `gateway import-synapse` generates from those files (.demo/routes.yaml).
 * Ctrl-C, or `make demo-stop` (this file with --stop), stops every process it started, by the
 * PIDs recorded in .demo/pids.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDeployment } from './demo/deployment.ts';
import { DEMO_WORKERS } from './demo/layout.ts';
import type { ProcessPorts } from './demo/layout.ts';

const DIR = resolve(import.meta.dirname, '..', '.demo');
const PIDS = join(DIR, 'pids');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** `--stop`: signal the demo supervisor (first PID); if it is gone, every recorded PID. */
async function stopDemo(): Promise<number> {
  if (!existsSync(PIDS)) { console.log('no demo is running (.demo/pids not found)'); return 0; }
  const pids = readFileSync(PIDS, 'utf8').split('\n').filter(Boolean).map((l) => Number(l.split(' ')[0]));
  const [supervisor, ...rest] = pids;
  const targets = supervisor !== undefined && alive(supervisor) ? [supervisor] : rest.reverse();
  for (const pid of targets) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const left = pids.filter(alive);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  rmSync(PIDS, { force: true });
  console.log(`demo stopped (${pids.length} processes${left.length ? `, ${left.length} killed` : ''})`);
  return 0;
}

function fixedPorts() {
  const processes: Record<string, ProcessPorts> = { main: { client: 8080, replication: 9093 } };
  DEMO_WORKERS.forEach((w, i) => { processes[w] = { client: 8081 + i, replication: 9101 + i }; });
  return { gateway: 8008, admin: 9000, postgres: 55432, redis: 56379, processes };
}

async function runDemo(): Promise<number> {
  if (existsSync(PIDS) && readFileSync(PIDS, 'utf8').split('\n').filter(Boolean).some((l) => alive(Number(l.split(' ')[0])))) {
    console.error('a demo is already running: `make demo-stop` first');
    return 1;
  }
  mkdirSync(DIR, { recursive: true });
  writeFileSync(PIDS, `${process.pid} demo\n`);
  console.log('starting PostgreSQL, Redis, main, 6 workers and the gateway (logs in .demo/logs/) ...');
  const d = await startDeployment({ dir: DIR, ports: fixedPorts(), onStart: (name, pid) => appendFileSync(PIDS, `${pid} ${name}\n`) });
  console.log(`
Switchyard demo is running.
  Client URL (gateway):        ${d.gatewayUrl}
  Server name:                 ${d.serverName}
  Registration shared secret:  ${d.sharedSecret}
  Open registration:           enabled (m.login.dummy)
  Config:                      .demo/homeserver.yaml, .demo/workers/*.yaml
  Routes:                      .demo/routes.yaml (gateway import-synapse)
  Gateway status:              http://127.0.0.1:9000/status.html
Stop with Ctrl-C, or \`make demo-stop\` from another terminal.`);
  await new Promise<void>((res) => { process.once('SIGINT', () => res()); process.once('SIGTERM', () => res()); });
  console.log('\nstopping the demo ...');
  await d.stop();
  rmSync(PIDS, { force: true });
  console.log('demo stopped');
  return 0;
}

process.exitCode = process.argv.includes('--stop') ? await stopDemo() : await runDemo();
