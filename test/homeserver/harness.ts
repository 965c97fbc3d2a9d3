/**
 * Test harness: real homeserver processes (in-process, real sockets, a fresh PostgreSQL database,
 * the runner's Redis) and a tiny Matrix client over fetch.
 */
import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { freshDatabase, redisUrl } from '../support/env.ts';
import { freePort } from '../support/services.ts';
import { HomeserverConfig } from '../../homeserver/config/schema.ts';
import { startHomeserver, type RunningHomeserver } from '../../homeserver/app.ts';

export const silent = pino({ level: process.env.SWITCHYARD_TEST_LOG ?? 'silent' });

/** `database` section for a database URL. */
export function databaseSection(url: string) {
  const u = new URL(url);
  return { name: 'psycopg2', args: { user: decodeURIComponent(u.username), host: u.hostname, port: Number(u.port), database: u.pathname.slice(1), cp_min: 2, cp_max: 10 } };
}

/** `redis` section for a Redis URL. */
export function redisSection(url = redisUrl()) {
  const u = new URL(url);
  return { enabled: true, host: u.hostname, port: Number(u.port) };
}

/** Shared config for a single main process serving the client API. */
export async function mainConfig(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    // Unique per deployment: Redis pub/sub channels (named after server_name) are global.
    server_name: `t${randomBytes(4).toString('hex')}.local`,
    database: databaseSection(await freshDatabase('hs')),
    listeners: [{ port: 0, bind_addresses: ['127.0.0.1'], type: 'http', resources: [{ names: ['client', 'replication'] }] }],
    enable_registration: true,
    enable_registration_without_verification: true,
    registration_shared_secret: 'shh',
    ...extra,
  };
}

/** Starts a process from a plain config object. */
export async function start(config: Record<string, unknown>): Promise<RunningHomeserver & { url: string }> {
  const running = await startHomeserver(HomeserverConfig.parse(config), { log: silent });
  return Object.assign(running, { url: `http://127.0.0.1:${running.ports[0]}` });
}

/** Starts a single main process. */
export async function startMain(extra: Record<string, unknown> = {}) {
  return start(await mainConfig(extra));
}

export { freePort };

/** A response: status and parsed JSON. */
export interface Res { status: number; body: any }

/** A minimal Matrix client. */
export class Client {
  readonly base: string;
  token: string | undefined;
  userId = '';
  deviceId = '';
  #txn = 0;

  constructor(base: string, token?: string) {
    this.base = base;
    this.token = token;
  }

  async req(method: string, path: string, body?: unknown, token = this.token): Promise<Res> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.req(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Registers (m.login.dummy) and keeps the token. */
  async register(username: string, password = 'pw-' + username): Promise<this> {
    const r = await this.ok('POST', '/_matrix/client/v3/register', { username, password, auth: { type: 'm.login.dummy' } });
    this.token = r.access_token;
    this.userId = r.user_id;
    this.deviceId = r.device_id;
    return this;
  }

  async createRoom(body: Record<string, unknown> = {}): Promise<string> {
    return (await this.ok('POST', '/_matrix/client/v3/createRoom', body)).room_id;
  }

  async send(roomId: string, body: string, txn = `t${++this.#txn}-${Date.now()}`): Promise<string> {
    return (await this.ok('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, { msgtype: 'm.text', body })).event_id;
  }

  async join(roomId: string): Promise<void> {
    await this.ok('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.ok('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId });
  }

  async sync(params: Record<string, string | number> = {}): Promise<any> {
    const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    return this.ok('GET', `/_matrix/client/v3/sync?${q}`);
  }
}

/** A multi-process layout in one Node process: main plus named generic workers. */
export interface Layout {
  main: RunningHomeserver & { url: string };
  workers: Record<string, RunningHomeserver & { url: string }>;
  shared: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts main and generic workers sharing one database and Redis. `events` lists the event
 * persisters (worker names); every worker gets a client and a replication listener.
 */
export async function startLayout(opts: { workers: string[]; events: string[]; redis?: string; streams?: Record<string, string[]> }): Promise<Layout> {
  // Ports come from freePort() before the processes bind them; under a busy test run another
  // process can take one meanwhile (EADDRINUSE). Then stop what started and try fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLayoutOnce(opts);
    } catch (err) {
      if (attempt >= 3 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

async function startLayoutOnce(opts: { workers: string[]; events: string[]; redis?: string; streams?: Record<string, string[]> }): Promise<Layout> {
  const names = ['main', ...opts.workers];
  const repl = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
  const shared = await mainConfig({
    redis: redisSection(opts.redis),
    worker_replication_secret: 'repl-secret',
    instance_map: Object.fromEntries(names.map((n) => [n, { host: '127.0.0.1', port: repl[n] }])),
    stream_writers: { events: opts.events, ...(opts.streams ?? {}) },
  });
  const listeners = (n: string) => [
    { port: 0, bind_addresses: ['127.0.0.1'], type: 'http', resources: [{ names: ['client'] }] },
    { port: repl[n], bind_addresses: ['127.0.0.1'], type: 'http', resources: [{ names: ['replication'] }] },
  ];
  const running: (RunningHomeserver & { url: string })[] = [];
  try {
    const main = await start({ ...shared, listeners: listeners('main') });
    running.push(main);
    const settled = await Promise.allSettled(opts.workers.map((w) => start({ ...shared, worker_app: 'synapse.app.generic_worker', worker_name: w, worker_listeners: listeners(w) })));
    for (const r of settled) if (r.status === 'fulfilled') running.push(r.value);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const workers = Object.fromEntries(opts.workers.map((w, i) => [w, (settled[i] as PromiseFulfilledResult<RunningHomeserver & { url: string }>).value]));
    return {
      main, workers, shared,
      async stop() {
        await Promise.all(Object.values(workers).map((w) => w.stop()));
        await main.stop();
      },
    };
  } catch (err) {
    await Promise.allSettled(running.reverse().map((r) => r.stop()));
    throw err;
  }
}
