/**
 * Client-server API conformance points a review reproduced: transaction IDs scoped to the device
 * and the endpoint (and kept across the schema migration that scoped them), idempotent
 * sendToDevice, redacted state through GET /state/{type}/{key}, retries not rate-limited,
 * server-controlled account data refused, and a user's own leave/kick visible to them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Client, mainConfig, start, startMain } from './harness.ts';

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

test('events sent before the transaction scope migration are still found by their retries', async () => {
  const config = await mainConfig();
  const db = config.database as { args: { user: string; host: string; port: number; database: string } };
  let server = await start(config);
  let token: string, room: string, msg: string, redaction: string;
  try {
    const a = await user('mg', server.url);
    token = a.token!;
    room = await a.createRoom();
    msg = (await a.ok('PUT', sendPath(room, 'm.room.message', 'M1'), { body: 'old' })).event_id;
    redaction = (await a.ok('PUT', redactPath(room, msg, 'R1'), {})).event_id;
  } finally {
    await server.stop();
  }
  // Put the database back to schema version 1 (txn_key alone unique, no txn_scope), as a
  // deployment that sent these events before the upgrade would have it.
  const c = new pg.Client({ ...db.args });
  await c.connect();
  try {
    await c.query(`DELETE FROM schema_version WHERE version > 1;
      DROP INDEX events_txn; ALTER TABLE events DROP COLUMN txn_scope;
      ALTER TABLE events ADD CONSTRAINT events_txn_key_key UNIQUE (txn_key)`);
  } finally {
    await c.end();
  }
  server = await start(config);
  try {
    const a = new Client(server.url, token);
    assert.equal((await a.ok('PUT', sendPath(room, 'm.room.message', 'M1'), { body: 'old' })).event_id, msg);
    assert.equal((await a.ok('PUT', redactPath(room, msg, 'R1'), {})).event_id, redaction);
    const other = await a.createRoom();
    assert.notEqual((await a.ok('PUT', sendPath(other, 'm.room.message', 'M1'), { body: 'new' })).event_id, msg);
  } finally {
    await server.stop();
  }
});
