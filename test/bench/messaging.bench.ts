/**
 * `make bench-messaging` (issue 5 point 9): the demo layout as separate processes (main, 2 sync
 * workers, a client worker, 2 event persisters, a stream writer; PostgreSQL; Redis) behind the
 * gateway with import-synapse routes. 200 users long-poll /sync through the gateway, 5 per room
 * in 40 rooms; senders (room members) send at a fixed offered rate, then as fast as 32 concurrent
 * senders can. Reported: messages/s, send latency, and send-to-sync delivery latency (from the
 * start of the PUT to the /sync response carrying it, for every member including the sender).
 * Seeded choices; every sent message must be delivered to every member exactly once.
 * Options: --rate 200 --duration 20 --users 200 --rooms 40 --burst-duration 10
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startDeployment } from '../../homeserver/demo/deployment.ts';

const { values } = parseArgs({ options: {
  rate: { type: 'string', default: '200' }, duration: { type: 'string', default: '20' }, users: { type: 'string', default: '200' },
  rooms: { type: 'string', default: '40' }, direct: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false }, 'burst-duration': { type: 'string', default: '10' }, 'burst-senders': { type: 'string', default: '32' },
} });
const RATE = Number(values.rate), DURATION = Number(values.duration), USERS = Number(values.users), ROOMS = Number(values.rooms);
const BURST_S = Number(values['burst-duration']), BURST_SENDERS = Number(values['burst-senders']);

let seed = 42;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN; };

interface User { id: string; token: string; rooms: number[]; since: string }

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  chmodSync(dir, 0o755);
  console.log('starting the deployment (PostgreSQL, Redis, main + 6 workers, gateway) ...');
  const d = await startDeployment({ dir, gatewayArgs: ['--no-access-log'] });
  // --direct: sync straight to synchrotron1 (no gateway), to separate gateway from homeserver costs.
  const syncPool = values.direct ? new Pool(d.clientUrls.synchrotron1!, { connections: USERS + 16, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 }) : undefined;
  const pool = new Pool(d.gatewayUrl, { connections: USERS + BURST_SENDERS + 16, keepAliveTimeout: 60_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const r = await (syncPool && path.includes('/sync?since') ? syncPool : pool).request({ method: method as 'GET', path, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await r.body.json() as Record<string, any>;
    if (r.statusCode !== 200) throw new Error(`${method} ${path} -> ${r.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  let stopping = false;
  try {
    console.log(`registering ${USERS} users, creating ${ROOMS} rooms ...`);
    const users: User[] = [];
    const register = async (i: number) => {
      const r = await call('POST', '/_matrix/client/v3/register', undefined, { username: `bench${i}`, password: 'pw', auth: { type: 'm.login.dummy' } });
      users[i] = { id: r.user_id, token: r.access_token, rooms: [], since: '' };
    };
    for (let i = 0; i < USERS; i += 10) await Promise.all(Array.from({ length: Math.min(10, USERS - i) }, (_, k) => register(i + k)));
    const roomIds: string[] = [];
    const members: number[][] = Array.from({ length: ROOMS }, () => []);
    users.forEach((u, i) => { members[i % ROOMS]!.push(i); u.rooms.push(i % ROOMS); });
    await Promise.all(members.map(async (m, r) => {
      roomIds[r] = (await call('POST', '/_matrix/client/v3/createRoom', users[m[0]!]!.token, { preset: 'public_chat' })).room_id;
      for (const i of m.slice(1)) await call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomIds[r]!)}`, users[i]!.token, {});
    }));

    const sentAt = new Map<string, number>();
    const delivered = new Map<string, number>();
    const latencies: number[] = [];
    let duplicates = 0;
    let measuring = false;
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 100 }, state: { lazy_load_members: true } } }));
    for (const u of users) u.since = (await call('GET', `/_matrix/client/v3/sync?filter=${filter}`, u.token)).next_batch;
    console.log('200 users long-polling /sync ...');
    const syncLoop = async (u: User) => {
      while (!stopping) {
        let s;
        try { s = await call('GET', `/_matrix/client/v3/sync?since=${u.since}&timeout=30000&filter=${filter}`, u.token); } catch (err) { if (!stopping) console.error(String(err)); continue; }
        const now = performance.now();
        u.since = s.next_batch;
        for (const room of Object.values<any>(s.rooms?.join ?? {})) {
          for (const e of room.timeline.events) {
            const seq = e.content?.seq as string | undefined;
            if (e.type !== 'm.room.message' || !seq) continue;
            const key = `${seq}|${u.id}`;
            if (delivered.has(key)) { duplicates++; continue; }
            delivered.set(key, now);
            const at = sentAt.get(seq);
            if (at !== undefined && measuring) latencies.push(now - at);
          }
        }
      }
    };
    const syncing = users.map(syncLoop);
    await new Promise((r) => setTimeout(r, 1000));

    let seq = 0;
    const sendLat: number[] = [];
    let sendErrors = 0;
    const sendOne = async () => {
      const r = Math.floor(rnd() * ROOMS);
      const m = members[r]!;
      const sender = users[m[Math.floor(rnd() * m.length)]!]!;
      const id = `s${++seq}`;
      const t0 = performance.now();
      sentAt.set(id, t0);
      try {
        await call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomIds[r]!)}/send/m.room.message/${id}`, sender.token, { msgtype: 'm.text', body: id, seq: id });
        if (measuring) sendLat.push(performance.now() - t0);
        return r;
      } catch (err) { sendErrors++; sentAt.delete(id); console.error(String(err)); return -1; }
    };

    const phase = async (name: string, run: () => Promise<number[]>) => {
      latencies.length = 0; sendLat.length = 0;
      measuring = true;
      const t0 = performance.now();
      const rooms = (await run()).filter((r) => r >= 0);
      const elapsed = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
      measuring = false;
      const expected = rooms.reduce((n, r) => n + members[r]!.length, 0);
      const row = { phase: name, messages: rooms.length, msgsPerS: +(rooms.length / elapsed).toFixed(1), deliveries: latencies.length, expectedDeliveries: expected,
        sendP50: +pct(sendLat, 50).toFixed(1), sendP99: +pct(sendLat, 99).toFixed(1), deliveryP50: +pct(latencies, 50).toFixed(1), deliveryP99: +pct(latencies, 99).toFixed(1), deliveryMax: +pct(latencies, 100).toFixed(1), duplicates, sendErrors };
      console.log(JSON.stringify(row));
      return row;
    };

    await phase('warmup', async () => { const out: Promise<number>[] = []; for (let i = 0; i < RATE * 2; i++) { out.push(sendOne()); await new Promise((r) => setTimeout(r, 1000 / RATE)); } return Promise.all(out); });
    const fixed = await phase(`offered ${RATE} msg/s for ${DURATION} s`, async () => {
      const out: Promise<number>[] = [];
      const start = performance.now();
      for (let i = 0; i < RATE * DURATION; i++) {
        const due = start + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        out.push(sendOne());
      }
      return Promise.all(out);
    });
    const burst = await phase(`${BURST_SENDERS} senders as fast as possible for ${BURST_S} s`, async () => {
      const out: number[] = [];
      const end = performance.now() + BURST_S * 1000;
      await Promise.all(Array.from({ length: BURST_SENDERS }, async () => { while (performance.now() < end) out.push(await sendOne()); }));
      return out;
    });
    const results = resolve(import.meta.dirname, 'results');
    mkdirSync(results, { recursive: true });
    const file = join(results, `messaging-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ users: USERS, rooms: ROOMS, rate: RATE, fixed, burst }, null, 2));
    console.log(`\n| phase | msgs/s | send p50 / p99 (ms) | delivery p50 / p99 / max (ms) | deliveries | duplicates |\n|---|---|---|---|---|---|`);
    for (const r of [fixed, burst]) console.log(`| ${r.phase} | ${r.msgsPerS} | ${r.sendP50} / ${r.sendP99} | ${r.deliveryP50} / ${r.deliveryP99} / ${r.deliveryMax} | ${r.deliveries} of ${r.expectedDeliveries} | ${r.duplicates} |`);
    console.log(`results: ${file}`);
    stopping = true;
    void syncing;
  } finally {
    stopping = true;
    await pool.destroy();
    await syncPool?.destroy();
    await d.stop();
    if (values.keep) console.log(`kept ${dir} (logs in ${dir}/logs)`); else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
