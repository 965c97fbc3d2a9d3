/**
 * Client-server API conformance points a review reproduced: transaction IDs scoped to the device
 * and the endpoint (and kept across the schema migration that scoped them), idempotent
 * sendToDevice, redacted state through GET /state/{type}/{key}, retries not rate-limited,
 * server-controlled account data refused, and a user's own leave/kick visible to them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Client, startMain } from './harness.ts';
import { freshDatabase } from '../support/env.ts';
import { migrate, SCHEMA_VERSION, waitForSchema } from '../../homeserver/storage/migrations.ts';
import { eventByTxn } from '../../homeserver/storage/events.ts';

const execFileAsync = promisify(execFile);

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });
const enc = encodeURIComponent;
let n = 0;
const user = async (p = 'c', base = hs.url) => new Client(base).register(`${p}${++n}`);
const sendPath = (room: string, type: string, txn: string) => `/_matrix/client/v3/rooms/${enc(room)}/send/${type}/${txn}`;
const redactPath = (room: string, event: string, txn: string) => `/_matrix/client/v3/rooms/${enc(room)}/redact/${enc(event)}/${txn}`;

test('a transaction ID is scoped to the endpoint: another room, event type or redaction is a new request', async () => {
  const a = await user('ta');
  const r1 = await a.createRoom(), r2 = await a.createRoom();
  const first = (await a.ok('PUT', sendPath(r1, 'm.room.message', 'T1'), { msgtype: 'm.text', body: 'one' })).event_id;
  assert.equal((await a.ok('PUT', sendPath(r1, 'm.room.message', 'T1'), { msgtype: 'm.text', body: 'one' })).event_id, first, 'a retry is idempotent');
  const inR2 = (await a.ok('PUT', sendPath(r2, 'm.room.message', 'T1'), { msgtype: 'm.text', body: 'two' })).event_id;
  assert.notEqual(inR2, first, 'the same txnId in another room is another event');
  assert.equal((await a.ok('GET', `/_matrix/client/v3/rooms/${enc(r2)}/event/${enc(inR2)}`)).content.body, 'two');
  const otherType = (await a.ok('PUT', sendPath(r1, 'm.custom', 'T1'), { v: 1 })).event_id;
  assert.notEqual(otherType, first, 'the same txnId for another event type is another event');
  assert.equal((await a.ok('GET', `/_matrix/client/v3/rooms/${enc(r1)}/event/${enc(otherType)}`)).type, 'm.custom');

  const msg = (await a.ok('PUT', sendPath(r1, 'm.room.message', 'T2'), { msgtype: 'm.text', body: 'to redact' })).event_id;
  const redaction = (await a.ok('PUT', redactPath(r1, msg, 'T2'), { reason: 'x' })).event_id;
  assert.notEqual(redaction, msg, 'a redaction reusing a send txnId is still a redaction');
  assert.deepEqual((await a.ok('GET', `/_matrix/client/v3/rooms/${enc(r1)}/event/${enc(msg)}`)).content, {});
  assert.equal((await a.ok('PUT', redactPath(r1, msg, 'T2'), { reason: 'x' })).event_id, redaction, 'a redaction retry is idempotent');
  const other = await a.send(r1, 'also to redact');
  const redaction2 = (await a.ok('PUT', redactPath(r1, other, 'T2'), {})).event_id;
  assert.notEqual(redaction2, redaction, 'redacting another event with the same txnId is another redaction');
  assert.deepEqual((await a.ok('GET', `/_matrix/client/v3/rooms/${enc(r1)}/event/${enc(other)}`)).content, {});

  // unsigned.transaction_id is still echoed to the sending device.
  const s = await a.sync();
  const tl = (room: string) => s.rooms.join[room].timeline.events;
  assert.equal(tl(r2).find((e: any) => e.event_id === inR2).unsigned.transaction_id, 'T1');
  assert.equal(tl(r1).find((e: any) => e.event_id === otherType).unsigned.transaction_id, 'T1');
});

test('the persister refuses a draft whose txn_key has no txn_scope (it could never be found again)', async () => {
  const a = await user('rep');
  const room = await a.createRoom();
  const res = await fetch(`${hs.url}/_synapse/replication/send_events`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room_id: room, drafts: [{ type: 'm.room.message', sender: a.userId, content: { body: 'x' }, txn_key: `${a.userId}|${a.deviceId}|U1` }] }),
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_BAD_JSON');
});

test('events sent before the transaction scope migration are still found by their retries', async () => {
  const pool = new pg.Pool({ connectionString: await freshDatabase('mig') });
  try {
    // The database as schema version 1 left it: txn_key alone, unique, no endpoint scope.
    await migrate(pool, 1);
    const insert = (so: number, id: string, room: string, type: string, content: object, txnKey: string) => pool.query(
      `INSERT INTO events (stream_ordering, event_id, room_id, type, sender, content, origin_server_ts, depth, instance_name, txn_key)
       VALUES ($1,$2,$3,$4,'@u:x',$5,0,1,'main',$6)`, [so, id, room, type, JSON.stringify(content), txnKey]);
    await insert(1, '$msg', '!a:x', 'm.room.message', { body: 'old' }, '@u:x|DEV|M1');
    await insert(2, '$red', '!a:x', 'm.room.redaction', { redacts: '$msg' }, '@u:x|DEV|R1');
    await migrate(pool);
    const find = (room: string, scope: string, key: string) => eventByTxn(pool, { key, room_id: room, scope }).then((e) => e?.event_id);
    assert.equal(await find('!a:x', 'send m.room.message', '@u:x|DEV|M1'), '$msg', 'a retried send finds the old row');
    assert.equal(await find('!a:x', 'redact $msg', '@u:x|DEV|R1'), '$red', 'a retried redaction finds the old row');
    assert.equal(await find('!b:x', 'send m.room.message', '@u:x|DEV|M1'), undefined, 'another room is another transaction');
    // The same txn_key on another endpoint may now be stored; the same endpoint again may not.
    await pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, sender, content, origin_server_ts, depth, instance_name, txn_key, txn_scope)
      VALUES (3,'$new','!b:x','m.room.message','@u:x','{}',0,1,'main','@u:x|DEV|M1','send m.room.message')`);
    await assert.rejects(pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, sender, content, origin_server_ts, depth, instance_name, txn_key, txn_scope)
      VALUES (4,'$dup','!a:x','m.room.message','@u:x','{}',0,1,'main','@u:x|DEV|M1','send m.room.message')`), { constraint: 'events_txn' });
    // A key without its scope would never conflict (NULLs are distinct) and never be found: refused.
    await assert.rejects(pool.query(`INSERT INTO events (stream_ordering, event_id, room_id, type, sender, content, origin_server_ts, depth, instance_name, txn_key)
      VALUES (5,'$unscoped','!a:x','m.room.message','@u:x','{}',0,1,'main','@u:x|DEV|M9')`), { constraint: 'events_txn_scoped' });
  } finally {
    await pool.end();
  }
});

test('sendToDevice: a retried transaction is not delivered twice; another event type is another transaction', async () => {
  const a = await user('da'), b = await user('db');
  const s0 = await b.sync();
  const msg = (v: number) => ({ messages: { [b.userId]: { [b.deviceId]: { v } } } });
  assert.deepEqual(await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/X1', msg(1)), {});
  assert.deepEqual(await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/X1', msg(1)), {}, 'a retry answers 200 {}');
  await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.other/X1', msg(2));
  await a.ok('PUT', '/_matrix/client/v3/sendToDevice/m.test/X2', msg(3));
  const s1 = await b.sync({ since: s0.next_batch });
  assert.deepEqual(s1.to_device.events.map((e: any) => [e.type, e.content.v]), [['m.test', 1], ['m.other', 2], ['m.test', 3]]);
});

test('GET /state/{type}/{key} of a redacted state event returns the redacted content, as GET /state does', async () => {
  const a = await user('sa');
  const room = await a.createRoom({ topic: 'secret topic' });
  const r = `/_matrix/client/v3/rooms/${enc(room)}`;
  const topic = await a.ok('GET', `${r}/state/m.room.topic?format=event`);
  await a.ok('PUT', redactPath(room, topic.event_id, 'rt1'), {});
  assert.deepEqual(await a.ok('GET', `${r}/state/m.room.topic`), {});
  assert.deepEqual((await a.ok('GET', `${r}/state/m.room.topic?format=event`)).content, {});
  assert.deepEqual((await a.ok('GET', `${r}/state`)).find((e: any) => e.type === 'm.room.topic').content, {});
  // Redaction keeps what the algorithm keeps (room version 10: join_rule for m.room.join_rules).
  const jr = await a.ok('GET', `${r}/state/m.room.join_rules?format=event`);
  await a.ok('PUT', `${r}/state/m.room.join_rules`, { ...jr.content, extra: 'dropped on redaction' });
  const jr2 = await a.ok('GET', `${r}/state/m.room.join_rules?format=event`);
  await a.ok('PUT', redactPath(room, jr2.event_id, 'rt2'), {});
  assert.deepEqual(await a.ok('GET', `${r}/state/m.room.join_rules`), { join_rule: jr.content.join_rule });
});

test('rc_message: a retried transaction is answered with its event, not rate-limited', async () => {
  const limited = await startMain({ rc_message: { per_second: 0.1, burst_count: 3 } });
  try {
    const a = await new Client(limited.url).register('rlretry');
    const room = await a.createRoom();
    const first = (await a.ok('PUT', sendPath(room, 'm.room.message', 'same'), { msgtype: 'm.text', body: 'x' })).event_id;
    for (let i = 0; i < 2; i++) await a.send(room, `fill ${i}`);
    const over = await a.req('PUT', sendPath(room, 'm.room.message', 'new'), { msgtype: 'm.text', body: 'y' });
    assert.equal(over.status, 429, 'the bucket is empty');
    const retry = await a.req('PUT', sendPath(room, 'm.room.message', 'same'), { msgtype: 'm.text', body: 'x' });
    assert.deepEqual([retry.status, retry.body], [200, { event_id: first }]);
  } finally {
    await limited.stop();
  }
});

test('account data the server controls (m.push_rules, room m.fully_read) is refused with 405 M_BAD_JSON', async () => {
  const a = await user('ad');
  const room = await a.createRoom();
  const u = `/_matrix/client/v3/user/${enc(a.userId)}`;
  const rules = await a.req('PUT', `${u}/account_data/m.push_rules`, {});
  assert.deepEqual([rules.status, rules.body.errcode], [405, 'M_BAD_JSON']);
  const fully = await a.req('PUT', `${u}/rooms/${enc(room)}/account_data/m.fully_read`, { event_id: '$x' });
  assert.deepEqual([fully.status, fully.body.errcode], [405, 'M_BAD_JSON']);
  assert.equal((await a.req('GET', `${u}/rooms/${enc(room)}/account_data/m.fully_read`)).status, 404, 'nothing was stored');
  // Other types, and these names in the other scope, are ordinary account data.
  await a.ok('PUT', `${u}/account_data/m.fully_read`, { v: 1 });
  await a.ok('PUT', `${u}/rooms/${enc(room)}/account_data/m.push_rules`, { v: 2 });
  await a.ok('PUT', `${u}/account_data/m.x`, { v: 3 });
});

test('a user sees their own leave and kick in the leave section of /sync and in /messages', async () => {
  const a = await user('la'), b = await user('lb');
  const members = (events: any[]) => events.filter((e: any) => e.type === 'm.room.member' && e.state_key === b.userId).map((e: any) => [e.content.membership, e.sender]);
  const bodies = (events: any[]) => events.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body);

  const kicked = await a.createRoom({ preset: 'public_chat' });
  await b.join(kicked);
  await a.send(kicked, 'while there');
  const s0 = await b.sync();
  await a.ok('POST', `/_matrix/client/v3/rooms/${enc(kicked)}/kick`, { user_id: b.userId, reason: 'bye' });
  await a.send(kicked, 'after the kick');
  const s1 = await b.sync({ since: s0.next_batch });
  const left = s1.rooms.leave[kicked];
  assert.ok(left, 'the kicked room is in the leave section');
  assert.deepEqual(members(left.timeline.events), [['leave', a.userId]], 'with the kick in its timeline');
  assert.deepEqual(bodies(left.timeline.events), []);
  const m = await b.ok('GET', `/_matrix/client/v3/rooms/${enc(kicked)}/messages?dir=b&limit=50`);
  assert.deepEqual(members(m.chunk), [['leave', a.userId], ['join', b.userId]]);
  assert.deepEqual(bodies(m.chunk), ['while there'], 'nothing after the kick');

  const quit = await a.createRoom({ preset: 'public_chat' });
  await b.join(quit);
  await b.ok('POST', `/_matrix/client/v3/rooms/${enc(quit)}/leave`, {});
  const s2 = await b.sync({ filter: JSON.stringify({ room: { include_leave: true } }) });
  assert.deepEqual(members(s2.rooms.leave[quit].timeline.events).at(-1), ['leave', b.userId]);
  const m2 = await b.ok('GET', `/_matrix/client/v3/rooms/${enc(quit)}/messages?dir=b&limit=50`);
  assert.deepEqual(members(m2.chunk)[0], ['leave', b.userId]);
});

test('main refuses a database a newer release migrated, and the failed start lets its process exit', async () => {
  const url = await freshDatabase('newer');
  const pool = new pg.Pool({ connectionString: url });
  try {
    await migrate(pool);
    await pool.query('INSERT INTO schema_version (version, applied_ts) VALUES ($1, $2)', [SCHEMA_VERSION + 1, Date.now()]);
  } finally {
    await pool.end();
  }
  // In a child process that catches the error and returns: anything the failed start left open
  // (the pool keeps cp_min connections for good) would keep it alive past the deadline.
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-newer-'));
  const script = join(dir, 'start.ts');
  writeFileSync(script, [
    `import { start, mainConfig, databaseSection } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'harness.ts')).href)};`,
    `try { await start(await mainConfig({ database: databaseSection(${JSON.stringify(url)}) })); console.log('started'); }`,
    'catch (err) { console.log(String(err)); }',
  ].join('\n'));
  const t0 = Date.now();
  const { stdout } = await execFileAsync(process.execPath, [script], { timeout: 15_000, env: process.env });
  assert.match(stdout, /schema is at version \d+, newer than this release/);
  assert.ok(Date.now() - t0 < 10_000, `the process exited by itself (${Date.now() - t0} ms)`);
  rmSync(dir, { recursive: true, force: true });
  // Workers refuse it too, at once, instead of running older code against it.
  const workerPool = new pg.Pool({ connectionString: url });
  try {
    await assert.rejects(waitForSchema(workerPool, 5_000), /schema is at version \d+, newer than this release/);
  } finally {
    await workerPool.end();
  }
});

test('lazy-loaded members: incremental sync and /messages carry the member events of new timeline senders', async () => {
  const a = await user('lza'), b = await user('lzb'), c = await user('lzc');
  const room = await a.createRoom({ preset: 'public_chat' });
  await b.join(room);
  await c.join(room);
  await a.send(room, 'a1');
  await b.send(room, 'b1');
  await a.send(room, 'a2');
  const filter = JSON.stringify({ room: { timeline: { limit: 3 }, state: { lazy_load_members: true } } });
  const memberKeys = (events: any[]) => events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
  const s0 = await a.sync({ filter });
  assert.deepEqual(memberKeys(s0.rooms.join[room].state.events), [a.userId, b.userId].sort(), 'initial: the senders and self');

  await c.send(room, 'c1');
  const s1 = await a.sync({ since: s0.next_batch, filter });
  const jr = s1.rooms.join[room];
  assert.deepEqual(jr.timeline.events.map((e: any) => e.content.body), ['c1']);
  assert.equal(jr.timeline.limited, false);
  const carol = jr.state.events.filter((e: any) => e.type === 'm.room.member');
  assert.deepEqual(carol.map((e: any) => [e.state_key, e.content.membership]), [[c.userId, 'join']], 'the new sender\'s member event, no others');

  // A sender whose member event is in the timeline itself needs no state entry.
  const d = await user('lzd');
  await d.join(room);
  await d.send(room, 'd1');
  const s2 = await a.sync({ since: s1.next_batch, filter });
  assert.deepEqual(memberKeys(s2.rooms.join[room].timeline.events), [d.userId]);
  assert.deepEqual(memberKeys(s2.rooms.join[room].state.events), []);

  const m = await a.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=3&filter=${enc(JSON.stringify({ lazy_load_members: true }))}`);
  const senders = [...new Set(m.chunk.map((e: any) => e.sender))].sort();
  assert.deepEqual(memberKeys(m.state), senders, '/messages: the member events of the chunk\'s senders');
  assert.ok(m.state.every((e: any) => e.content.membership === 'join'));
  const plain = await a.ok('GET', `/_matrix/client/v3/rooms/${enc(room)}/messages?dir=b&limit=3`);
  assert.equal(plain.state, undefined, 'no state without lazy loading');
});
