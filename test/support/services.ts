/**
 * Real PostgreSQL and Redis servers for tests: each started from the Debian packages on a free
 * loopback port in a temporary directory, and stopped by PID. No mocks stand in for either.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running service that a test (or the test runner) owns. */
export interface Service {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) throw new Error('PostgreSQL is not installed (run `make setup`)');
  const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL version under ${base}`);
  return join(base, versions[0]!, 'bin');
}

const asRoot = process.getuid?.() === 0;
function pgCommand(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill(signal);
  });
}

/** Starts a throwaway PostgreSQL cluster (fsync off: test data is disposable). */
export async function startPostgres(): Promise<Service> {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-pg-'));
  if (asRoot) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const data = join(dir, 'data');
  const [initCmd, initArgs] = pgCommand(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const [cmd, args] = pgCommand(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      return true;
    } catch { return false; }
  }, 'PostgreSQL');
  // As root the child is `runuser`, which does not pass SIGINT on: signal the postmaster itself
  // (its PID is the first line of postmaster.pid), then wait for both to be gone.
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url, port, pid: postmaster,
    async stop() {
      await stopPid(postmaster, 'SIGINT');
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends `signal` to a process we started and waits (up to 10 s, then SIGKILL) until it is gone. */
async function stopPid(pid: number, signal: NodeJS.Signals): Promise<void> {
  const alive = (): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
  if (!alive()) return;
  process.kill(pid, signal);
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await sleep(20);
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Starts a throwaway Redis server without persistence. */
export async function startRedis(port?: number): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
  const p = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error('redis-server exited');
    try { execFileSync('redis-cli', ['-p', String(p), 'ping'], { stdio: 'ignore' }); return true; } catch { return false; }
  }, 'Redis');
  return {
    url: `redis://127.0.0.1:${p}`, port: p, pid: child.pid!,
    async stop() { await stopChild(child); rmSync(dir, { recursive: true, force: true }); },
  };
}

function uidOf(user: string): number { return Number(execFileSync('id', ['-u', user]).toString().trim()); }
function gidOf(user: string): number { return Number(execFileSync('id', ['-g', user]).toString().trim()); }
