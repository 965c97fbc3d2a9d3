/**
 * `gateway loadtest --scenario messaging` (issue 6 point 3): against any Matrix homeserver,
 * registers users, creates rooms and joins them, keeps N clients long-polling /sync while M
 * senders send at the offered rate, and reports sends/s, send-to-sync delivery latency, and lost
 * and duplicated messages. Every message carries a run-unique sequence number in its content;
 * each syncing client must see each successfully sent message of its rooms exactly once.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { call, registerOpen, registerWithSharedSecret, timelineEvents, type Account, type Endpoint } from './matrix.ts';
import { graceMs, rateWarnings, runLoop, type LoopOptions } from './loop.ts';
import { bump, LatencyRecorder, type LatencySummary } from './stats.ts';
import { connectOptions } from './target.ts';

export interface MessagingOptions extends LoopOptions {
  readonly target: URL;
  /** Syncing clients (the CLI's --connections). */
  readonly clients: number;
  readonly senders: number;
  readonly rooms: number;
  /** Synapse `registration_shared_secret`; without it, open registration with m.login.dummy. */
  readonly sharedSecret: string | null;
  /** How long clients keep syncing after the last send, waiting for stragglers (default 10 s). */
  readonly drainMs?: number;
}

export interface MessagingResult {
  readonly scenario: 'messaging';
  readonly target: string;
  readonly registration: 'shared_secret' | 'open';
  readonly clients: number;
  readonly senders: number;
  readonly rooms: number;
  readonly rate: number | null;
  /** The measured window (--duration); sends/s are per second of it. */
  readonly durationS: number;
  readonly setupS: number;
  /**
   * `failed` includes `aborted` (unanswered at duration + grace). `notSent`: with --rate, messages
   * that fell due but were never sent because every sender was blocked. Send latency includes
   * aborted sends (at due → abort) and unsent ones (at due → end of run).
   */
  readonly sends: { attempted: number; ok: number; failed: number; aborted: number; notSent: number; perSecond: number; latencyMs: LatencySummary };
  readonly delivery: { expected: number; delivered: number; lost: number; duplicated: number; latencyMs: LatencySummary };
  readonly errors: Record<string, number>;
  /** E.g. the achieved send rate fell well below --rate. */
  readonly warnings: readonly string[];
}

const MARK = 'org.switchyard.loadtest.seq';
const FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 100 }, state: { lazy_load_members: true } }, presence: { types: [] }, account_data: { types: [] } }));

interface Sent { at: number; room: number }
interface Client { account: Account; seen: Set<number>; since: string }
interface State {
  sent: Map<number, Sent>;
  ok: number[];
  errors: Record<string, number>;
  delivery: LatencyRecorder;
  duplicated: number;
  delivered: number;
  aborted: number;
}

/** Runs the messaging scenario. Setup time is reported separately and bounded by per-call timeouts. */
export async function runMessagingScenario(o: MessagingOptions, onProgress?: (status: () => string) => () => void): Promise<MessagingResult> {
  const undiciPool = new Pool(o.target.origin, { connections: o.clients + o.senders + 4, keepAliveTimeout: 60_000, connect: connectOptions(o.target, graceMs(o)) });
  // Every path is under the target's path prefix (e.g. a homeserver behind /matrix-proxy).
  const pool: Endpoint = { pool: undiciPool, base: o.target.pathname.replace(/\/$/, '') };
  const st: State = { sent: new Map(), ok: [], errors: {}, delivery: new LatencyRecorder(), duplicated: 0, delivered: 0, aborted: 0 };
  try {
    const setupStart = performance.now();
    const { senders, clients, rooms } = await setUp(pool, o);
    const setupS = (performance.now() - setupStart) / 1000;
    const stopSync = new AbortController();
    const syncs = clients.map((c) => syncLoop(pool, c, rooms, st, stopSync.signal));
    const stop = onProgress?.(() => `sent ${st.ok.length}, delivered ${st.delivered}/${st.ok.length * o.clients}`);
    const sendLat = new LatencyRecorder();
    let seq = 0;
    const loop = { ...o, connections: o.senders };
    const run = await runLoop(loop, async (signal, scheduledAt) => {
      const n = seq++;
      await sendOne(pool, senders[n % senders.length]!, rooms, n, st, sendLat, signal, scheduledAt);
    }, (due, endedAt) => {
      // Due but never sent (every sender was blocked): its latency is at least the time it waited.
      bump(st.errors, 'send: not_sent');
      sendLat.record(endedAt - due);
    });
    const warnings = rateWarnings(loop, run, 'sends');
    await drain(st, o.clients, o.drainMs ?? 10_000);
    stopSync.abort();
    await Promise.allSettled(syncs);
    stop?.();
    return result(o, st, clients, seq, run.notSent, sendLat, setupS, warnings);
  } finally {
    await undiciPool.destroy();
  }
}

async function setUp(pool: Endpoint, o: MessagingOptions): Promise<{ senders: Account[]; clients: Client[]; rooms: string[] }> {
  const run = randomBytes(4).toString('hex');
  const password = randomBytes(12).toString('base64url');
  const register = (name: string): Promise<Account> => (o.sharedSecret !== null
    ? registerWithSharedSecret(pool, o.sharedSecret, name, password)
    : registerOpen(pool, name, password));
  const senders = await inBatches(o.senders, (i) => register(`loadtest_${run}_s${i}`));
  const accounts = await inBatches(o.clients, (i) => register(`loadtest_${run}_c${i}`));
  const rooms = await inBatches(o.rooms, async (i) =>
    String((await call(pool, 'POST', '/_matrix/client/v3/createRoom', { token: senders[0]!.token, body: { preset: 'public_chat', name: `loadtest ${run} #${i}` } })).room_id));
  for (const a of [...senders.slice(1), ...accounts]) {
    await Promise.all(rooms.map((r) => call(pool, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(r)}`, { token: a.token, body: {} })));
  }
  const clients = await inBatches(o.clients, async (i): Promise<Client> => {
    const first = await call(pool, 'GET', `/_matrix/client/v3/sync?timeout=0&filter=${FILTER}`, { token: accounts[i]!.token, timeoutMs: 60_000 });
    return { account: accounts[i]!, seen: new Set(), since: String(first.next_batch) };
  });
  return { senders, clients, rooms };
}

/** Runs `fn` for 0..n-1, at most 8 at a time (registration is rate-limited on many servers). */
async function inBatches<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 8) out.push(...await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, k) => fn(i + k))));
  return out;
}

async function sendOne(pool: Endpoint, sender: Account, rooms: string[], n: number, st: State, lat: LatencyRecorder, signal: AbortSignal, scheduledAt: number): Promise<void> {
  const room = n % rooms.length;
  st.sent.set(n, { at: scheduledAt, room });
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[room]!)}/send/m.room.message/lt${n}`;
  try {
    await call(pool, 'PUT', path, { token: sender.token, signal, body: { msgtype: 'm.text', body: `loadtest message ${n}`, [MARK]: n } });
    lat.record(performance.now() - scheduledAt);
    st.ok.push(n);
  } catch (err) {
    if (signal.aborted) {
      st.aborted++;
      lat.record(performance.now() - scheduledAt);
    }
    bump(st.errors, `send: ${signal.aborted ? 'aborted_at_deadline' : errorName(err)}`);
  }
}

async function syncLoop(pool: Endpoint, c: Client, rooms: string[], st: State, signal: AbortSignal): Promise<void> {
  const roomIndex = new Map(rooms.map((r, i) => [r, i]));
  while (!signal.aborted) {
    try {
      const res = await call(pool, 'GET', `/_matrix/client/v3/sync?since=${encodeURIComponent(c.since)}&timeout=5000&filter=${FILTER}`,
        { token: c.account.token, signal, timeoutMs: 35_000 });
      const now = performance.now();
      for (const [roomId, events] of timelineEvents(res)) {
        if (!roomIndex.has(roomId)) continue;
        for (const ev of events) deliver(st, c, ev.content?.[MARK], now);
      }
      c.since = String(res.next_batch);
    } catch (err) {
      if (signal.aborted) return;
      bump(st.errors, `sync: ${errorName(err)}`);
      await sleep(200);
    }
  }
}

function deliver(st: State, c: Client, mark: unknown, now: number): void {
  if (typeof mark !== 'number') return;
  const sent = st.sent.get(mark);
  if (!sent) return;
  if (c.seen.has(mark)) {
    st.duplicated++;
    return;
  }
  c.seen.add(mark);
  st.delivered++;
  st.delivery.record(now - sent.at);
}

/** Waits until every sent message reached every client, or `ms` passes. */
async function drain(st: State, clients: number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until && st.delivered < st.ok.length * clients) await sleep(50);
}

function errorName(err: unknown): string {
  const e = err as { errcode?: string; status?: number; code?: string; name?: string };
  return e.errcode ? `${e.status} ${e.errcode}` : String(e.code ?? e.name ?? 'Error');
}

function result(o: MessagingOptions, st: State, clients: readonly Client[], attempted: number, notSent: number, sendLat: LatencyRecorder, setupS: number, warnings: string[]): MessagingResult {
  const expected = st.ok.length * clients.length;
  // Lost: an acknowledged send some client never saw. (A send that failed on our side, e.g. timed
  // out after the server persisted it, may still be delivered; it is neither expected nor lost.)
  let lost = 0;
  for (const n of st.ok) for (const c of clients) if (!c.seen.has(n)) lost++;
  return {
    scenario: 'messaging', target: o.target.href, registration: o.sharedSecret !== null ? 'shared_secret' : 'open',
    clients: o.clients, senders: o.senders, rooms: o.rooms, rate: o.rate,
    durationS: o.durationMs / 1000, setupS: Math.round(setupS * 1000) / 1000,
    sends: {
      attempted, ok: st.ok.length, failed: attempted - st.ok.length, aborted: st.aborted, notSent,
      perSecond: Math.round((st.ok.length / (o.durationMs / 1000)) * 10) / 10, latencyMs: sendLat.summary(),
    },
    delivery: { expected, delivered: st.delivered, lost, duplicated: st.duplicated, latencyMs: st.delivery.summary() },
    errors: st.errors, warnings,
  };
}
