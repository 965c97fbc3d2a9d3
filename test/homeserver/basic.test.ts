/**
 * A single main process: registration, login, whoami, rooms, sending, /messages and /sync.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, startMain } from './harness.ts';

let hs: Awaited<ReturnType<typeof startMain>>;
before(async () => { hs = await startMain(); });
after(async () => { await hs.stop(); });

test('versions, then UIA on register, then register/whoami/login', async () => {
  const c = new Client(hs.url);
  const v = await c.ok('GET', '/_matrix/client/versions');
  assert.ok(v.versions.includes('v1.1'));
  const uia = await c.req('POST', '/_matrix/client/v3/register', { username: 'alice', password: 'pw' });
  assert.equal(uia.status, 401);
  assert.deepEqual(uia.body.flows, [{ stages: ['m.login.dummy'] }]);
  await c.register('alice', 'secret');
  assert.match(c.token!, /^syt_YWxpY2U_[A-Za-z]{20}_[0-9A-Za-z]{6}$/);
  assert.equal((await c.ok('GET', '/_matrix/client/v3/account/whoami')).user_id, `@alice:${hs.hs.serverName}`);
  const again = await c.req('POST', '/_matrix/client/v3/register', { username: 'alice', password: 'x', auth: { type: 'm.login.dummy' } });
  assert.equal(again.body.errcode, 'M_USER_IN_USE');
  const bad = await c.req('POST', '/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'nope' });
  assert.equal(bad.status, 403);
  const flows = await c.ok('GET', '/_matrix/client/v3/login');
  assert.deepEqual(flows.flows, [{ type: 'm.login.password' }]);
  const good = await c.ok('POST', '/_matrix/client/r0/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'secret' });
  assert.equal(good.user_id, `@alice:${hs.hs.serverName}`);
  const other = new Client(hs.url, good.access_token);
  await other.ok('POST', '/_matrix/client/v3/logout', {});
  const after = await other.req('GET', '/_matrix/client/v3/account/whoami');
  assert.equal(after.status, 401);
  assert.equal(after.body.errcode, 'M_UNKNOWN_TOKEN');
});

test('errors: missing token, unknown endpoint, bad JSON', async () => {
  const c = new Client(hs.url);
  const r = await c.req('GET', '/_matrix/client/v3/account/whoami');
  assert.deepEqual([r.status, r.body.errcode], [401, 'M_MISSING_TOKEN']);
  const u = await c.req('GET', '/_matrix/client/v3/nonsense');
  assert.deepEqual([u.status, u.body.errcode], [404, 'M_UNRECOGNIZED']);
  await c.register('errs');
  const nj = await c.req('POST', '/_matrix/client/v3/createRoom', '{not json');
  assert.deepEqual([nj.status, nj.body.errcode], [400, 'M_NOT_JSON']);
});

test('createRoom, send, /messages both ways, sync initial and incremental', async () => {
  const a = await new Client(hs.url).register('bob');
  const b = await new Client(hs.url).register('carol');
  const room = await a.createRoom({ name: 'Test', topic: 'hello', preset: 'private_chat', invite: [b.userId] });
  const bsync = await b.sync();
  assert.ok(bsync.rooms.invite[room], 'carol sees the invite');
  await b.join(room);
  const ids: string[] = [];
  for (let i = 0; i < 15; i++) ids.push(await a.send(room, `m${i}`));
  const back = await b.ok('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=10`);
  assert.deepEqual(back.chunk.map((e: any) => e.content.body), Array.from({ length: 10 }, (_, i) => `m${14 - i}`));
  const more = await b.ok('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=10&from=${back.end}`);
  assert.deepEqual(more.chunk.filter((e: any) => e.type === 'm.room.message').map((e: any) => e.content.body), ['m4', 'm3', 'm2', 'm1', 'm0']);
  const fwd = await b.ok('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=f&limit=100&filter=${encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }))}`);
  assert.deepEqual(fwd.chunk.map((e: any) => e.event_id), ids);

  const s1 = await b.sync({ filter: JSON.stringify({ room: { timeline: { limit: 5 } } }) });
  const jr = s1.rooms.join[room];
  assert.equal(jr.timeline.events.length, 5);
  assert.equal(jr.timeline.limited, true);
  assert.ok(jr.state.events.some((e: any) => e.type === 'm.room.name'));
  const wait = b.sync({ since: s1.next_batch, timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 100));
  const id = await a.send(room, 'live');
  const s2 = await wait;
  assert.deepEqual(s2.rooms.join[room].timeline.events.map((e: any) => e.event_id), [id]);
  assert.equal(s2.rooms.join[room].timeline.limited, false);
});

test('transaction IDs are idempotent per device', async () => {
  const a = await new Client(hs.url).register('txn');
  const room = await a.createRoom();
  const e1 = await a.send(room, 'once', 'same');
  const e2 = await a.send(room, 'twice', 'same');
  assert.equal(e1, e2);
  const s = await a.sync();
  const msgs = s.rooms.join[room].timeline.events.filter((e: any) => e.type === 'm.room.message');
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].unsigned.transaction_id, 'same');
});

test('shared-secret admin registration', async () => {
  const { registrationMac } = await import('../../homeserver/api/auth.ts');
  const c = new Client(hs.url);
  const { nonce } = await c.ok('GET', '/_synapse/admin/v1/register');
  const bad = await c.req('POST', '/_synapse/admin/v1/register', { nonce, username: 'admin', password: 'pw', admin: true, mac: '00' });
  assert.equal(bad.status, 403);
  const { nonce: n2 } = await c.ok('GET', '/_synapse/admin/v1/register');
  const mac = registrationMac('shh', n2, 'admin', 'pw', true);
  const ok = await c.ok('POST', '/_synapse/admin/v1/register', { nonce: n2, username: 'admin', password: 'pw', admin: true, mac });
  assert.equal(ok.user_id, `@admin:${hs.hs.serverName}`);
  const reuse = await c.req('POST', '/_synapse/admin/v1/register', { nonce: n2, username: 'admin2', password: 'pw', admin: true, mac });
  assert.equal(reuse.status, 400);
});
