/**
 * Starting and stopping the demo's processes: PostgreSQL and Redis with their data under a given
 * directory (as test/support/services.ts does, but persistent), and Node processes with their
 * output in log files. Every PID is returned so the caller can record it and stop exactly what it
 * started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const asRoot = process.getuid?.() === 0;

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const v = readdirSync(base).filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new Error('PostgreSQL is not installed (run `make setup`)');
  return join(base, v, 'bin', name);
}

function asPostgres(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/** Polls `check` until it is true or `ms` pass. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A started process: its PID and how to stop it. */
export interface Started { pid: number; stop(): Promise<void> }

/** Wraps a child process. */
export function started(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Started {
  return { pid: child.pid!, stop: () => stopChild(child, signal) };
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Stops a process that is not our child (the postmaster under runuser) by PID. */
async function stopPid(pid: number, signal: NodeJS.Signals, ms = 15_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, signal);
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Extra server options from SWITCHYARD_PG_OPTIONS (space-separated, e.g. `-c
 * shared_preload_libraries=pg_stat_statements` to see statements per send in a benchmark). The
 * defaults stay durable: every commit is flushed (synchronous_commit on), so no acknowledged send
 * is lost if the machine stops.
 */
function pgExtraOptions(): string[] {
  return (process.env.SWITCHYARD_PG_OPTIONS ?? '').split(' ').filter(Boolean);
}

/**
 * Starts PostgreSQL with its cluster in `dir` (created on first use), and ensures `database` exists.
 * The PID returned is the postmaster's (from postmaster.pid), not runuser's: runuser does not pass
 * signals on, so stopping it would orphan the server.
 */
export async function startPostgresIn(dir: string, port: number, database: string, log: string): Promise<Started> {
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true });
    if (asRoot) chownSync(dir, uid('postgres'), gid('postgres'));
    const [c, a] = asPostgres(pgBin('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    execFileSync(c, a, { stdio: 'ignore' });
  }
  const [cmd, args] = asPostgres(pgBin('postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', ...pgExtraOptions()]);
  const child = spawn(cmd, args, { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`postgres exited; see ${log}`);
    try { execFileSync(pgBin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }); return true; } catch { return false; }
  }, 'PostgreSQL');
  const psql = (sql: string) => execFileSync(pgBin('psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-tAc', sql]).toString().trim();
  if (psql(`SELECT 1 FROM pg_database WHERE datname = '${database}'`) !== '1') psql(`CREATE DATABASE ${database}`);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { pid, stop: async () => { await stopPid(pid, 'SIGINT'); await stopChild(child, 'SIGKILL', 1000); } };
}

/** Starts Redis without persistence on `port`. */
export async function startRedisIn(dir: string, port: number, log: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`redis-server exited; see ${log}`);
    try { execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' }); return true; } catch { return false; }
  }, 'Redis');
  return child;
}

/** Starts `node <script> ...args` with output appended to `log`. */
export function startNode(script: string, args: string[], log: string, cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], env: { ...process.env, ...env } });
}

/** Waits for `GET url` to answer 200. */
export async function waitHttp(url: string, child: ChildProcess, what: string, ms = 60_000): Promise<void> {
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try { return (await fetch(url)).ok; } catch { return false; }
  }, what, ms);
}

/** Sends `signal` and waits (up to `ms`) for the child to exit, then SIGKILLs it. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill(signal);
  });
}

function uid(user: string): number { return Number(execFileSync('id', ['-u', user]).toString().trim()); }
function gid(user: string): number { return Number(execFileSync('id', ['-g', user]).toString().trim()); }

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
