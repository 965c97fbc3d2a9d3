/**
 * Test support for the data plane: real upstream HTTP servers on port 0, routes files in a temp
 * directory, the gateway in-process (Gateway on port-0 listeners) or as a child process (for
 * signals, RSS and --workers), and a keep-alive HTTP client for load loops.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { Gateway } from '../../gateway/server.ts';
import type { AccessLogTarget } from '../../gateway/access-log.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A real upstream server. `handler` returning true means it answered itself. */
export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly server: http.Server;
  hits: number;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => boolean | void;

/** Starts an upstream that answers `{"upstream": name, ...}` with X-Upstream, and 200 on /health. */
export async function startUpstream(name: string, handler?: UpstreamHandler): Promise<Upstream> {
  const up = { name, hits: 0 } as { -readonly [K in keyof Upstream]: Upstream[K] };
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    up.hits++;
    if (handler?.(req, res)) return;
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  Object.assign(up, { server, port, url: `http://127.0.0.1:${port}` });
  up.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return up as Upstream;
}

/** A routes document with port-0 public and admin listeners around `rest`. */
export function routesDoc(rest: Record<string, unknown>): Record<string, unknown> {
  return {
    listeners: [{ name: 'public', kind: 'public', host: '127.0.0.1', port: 0 }, { name: 'admin', kind: 'admin', host: '127.0.0.1', port: 0 }],
    ...rest,
  };
}

/** Writes a routes file into a fresh temp directory; returns its path. */
export function writeRoutes(doc: Record<string, unknown>, file?: string): string {
  const path = file ?? join(mkdtempSync(join(tmpdir(), 'switchyard-gw-')), 'routes.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

/** An in-process gateway on port-0 listeners. */
export interface TestGateway {
  readonly gw: Gateway;
  readonly port: number;
  readonly adminPort: number;
  readonly file: string;
  close(): Promise<void>;
}

/** Starts a Gateway in this process. */
export async function startGateway(doc: Record<string, unknown>, accessLog: AccessLogTarget = { kind: 'off' }): Promise<TestGateway> {
  const file = writeRoutes(routesDoc(doc));
  const gw = new Gateway({ routesFile: file, accessLog, drainTimeout: 5000, log: pino({ level: 'silent' }) });
  await gw.listen();
  const addrs = gw.addresses();
  return {
    gw, file,
    port: addrs.find((a) => a.kind === 'public')!.port,
    adminPort: addrs.find((a) => a.kind === 'admin')!.port,
    close: async () => { await gw.shutdown(); },
  };
}

/** A response read fully. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request over a keep-alive agent. */
export function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent | false } = {}): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A raw TCP upstream: `onConn` gets each accepted socket and its index; `ended(i)` resolves when socket i ends or closes. */
export async function rawUpstream(onConn: (s: net.Socket, i: number) => void): Promise<{ url: string; port: number; ended(i: number): Promise<void>; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const ends: Promise<void>[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    ends.push(new Promise<void>((r) => { s.once('end', r); s.once('close', r); }));
    s.on('error', () => undefined);
    onConn(s, sockets.length - 1);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, url: `http://127.0.0.1:${port}`,
    ended: (i) => ends[i]!,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** Calls `cb(head)` with each request head read on `s` (bodies framed by Content-Length are skipped). */
export function onRequests(s: net.Socket, cb: (head: string) => void): void {
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (;;) {
      const e = buf.indexOf('\r\n\r\n');
      if (e < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, e))?.[1] ?? 0);
      if (buf.length < e + 4 + len) return;
      const head = buf.slice(0, e);
      buf = buf.slice(e + 4 + len);
      cb(head);
    }
  });
}

/** Runs `concurrency` request loops until `ms` passes; returns status counts and transport errors. */
export async function load(port: number, path: string, ms: number, concurrency = 8, headers?: Record<string, string>): Promise<{ ok: number; failed: number; statuses: Map<number, number>; errors: string[] }> {
  const until = Date.now() + ms;
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < until) {
      try {
        const r = await request(port, path, { headers });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) ok++;
        else failed++;
      } catch (err) {
        failed++;
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ok, failed, statuses, errors };
}

/** A gateway running as a child process (`node gateway/cli.ts --routes FILE ...`). */
export interface ChildGateway {
  readonly child: ChildProcess;
  readonly port: number;
  readonly adminPort: number;
  stderr(): string;
  stdout(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns the gateway and waits until both listeners are up (their ports come from the event log). */
export async function spawnGateway(file: string, args: string[] = [], execArgs: string[] = []): Promise<ChildGateway> {
  const child = spawn(process.execPath, [...execArgs, join(ROOT, 'gateway/cli.ts'), '--routes', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const ports = await new Promise<{ port: number; adminPort: number }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`gateway did not start:\n${err}`)), 15_000);
    child.on('exit', (c) => rej(new Error(`gateway exited with ${c}:\n${err}`)));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const pub = /"kind":"public","address":\{[^}]*"port":(\d+)/.exec(err);
      const adm = /"kind":"admin","address":\{[^}]*"port":(\d+)/.exec(err);
      if (pub && adm) { clearTimeout(timer); res({ port: Number(pub[1]), adminPort: Number(adm[1]) }); }
    });
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return {
    child, ...ports, stderr: () => err, stdout: () => out,
    stop: (signal = 'SIGTERM') => { if (child.exitCode === null) child.kill(signal); return exited; },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Writes `bytes` as they are on a fresh socket to 127.0.0.1:`port` and collects what comes back
 * until the peer closes (`closed`) or `timeoutMs` passes (then the socket is destroyed).
 */
export function rawExchange(port: number, bytes: string, timeoutMs = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); resolve({ text, closed: false }); }, timeoutMs);
    sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    sock.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }); });
    sock.on('error', () => undefined);
    sock.write(bytes);
  });
}
