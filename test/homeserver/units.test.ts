/**
 * Pure pieces: the replication wire format, Synapse's shard function, stream tokens, the
 * multi-writer safe position, Synapse-format access tokens, and config loading with positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { parse, serialize, type Command } from '../../homeserver/replication/commands.ts';
import { deploymentOf, shardIndex } from '../../homeserver/config/deployment.ts';
import { formatStreamToken, parseStreamToken } from '../../homeserver/streams/token.ts';
import { StreamPositions } from '../../homeserver/streams/positions.ts';
import { base62, generateAccessToken } from '../../homeserver/storage/users.ts';
import { loadHomeserverConfig } from '../../homeserver/config/load.ts';
import { ConfigError } from '../../config/errors.ts';
import { compilePattern } from '../../homeserver/http/router.ts';

test('replication commands round-trip, and malformed lines are rejected', () => {
  const cmds: Command[] = [
    { kind: 'RDATA', stream: 'events', instance: 'p1', token: 42, row: { room_id: '!a:b', text: 'with spaces and {json}' } },
    { kind: 'POSITION', stream: 'typing', instance: 'main', prev: 3, next: 9 },
    { kind: 'REPLICATE', instance: 'sync1' },
  ];
  for (const c of cmds) assert.deepEqual(parse(serialize(c)), c);
  assert.equal(serialize(cmds[1]!), 'POSITION typing main 3 9');
  for (const bad of ['', 'RDATA events p1 x {}', 'RDATA nope p1 1 {}', 'POSITION events p1 1', 'RDATA events p1 1 [1]', 'HELLO x']) {
    assert.throws(() => parse(bad), Error, bad);
  }
});

test("shard index equals sha256 as a little-endian integer modulo N (Synapse's function)", () => {
  for (let i = 0; i < 200; i++) {
    const room = `!room${i}:example.org`;
    const digest = createHash('sha256').update(room).digest();
    let big = 0n;
    for (let j = digest.length - 1; j >= 0; j--) big = (big << 8n) | BigInt(digest[j]!);
    for (const n of [1, 2, 3, 5]) assert.equal(shardIndex(room, n), Number(big % BigInt(n)));
  }
  const d = deploymentOf({ stream_writers: { events: ['p1', 'p2'] }, instance_map: {} } as never);
  const counts = { p1: 0, p2: 0 } as Record<string, number>;
  for (let i = 0; i < 1000; i++) counts[d.eventPersisterFor(`!r${i}:x`)]!++;
  assert.ok(counts.p1! > 400 && counts.p2! > 400, `balanced within 10% (${JSON.stringify(counts)})`);
});

test('stream tokens round-trip; s<n> is an events position', () => {
  const t = { events: 5, typing: 1, receipts: 2, to_device: 3, account_data: 4, presence: 0, device_lists: 7 };
  assert.equal(formatStreamToken(t), 's5_1_2_3_4_0_7');
  assert.deepEqual(parseStreamToken('s5_1_2_3_4_0_7'), t);
  assert.equal(parseStreamToken('s12')!.events, 12);
  assert.equal(parseStreamToken('t12-3'), undefined);
});

test('the safe position is the minimum over writers', () => {
  const p = new StreamPositions({ events: ['a', 'b'], typing: ['m'], to_device: ['m'], account_data: ['m'], receipts: ['m'], presence: ['m'], device_lists: ['m'] });
  const moves: number[] = [];
  p.onAdvance((s, _f, to) => { if (s === 'events') moves.push(to); });
  p.advance('events', 'a', 10);
  assert.equal(p.safe('events'), 0);
  p.advance('events', 'b', 7);
  assert.equal(p.safe('events'), 7);
  p.advance('events', 'b', 5);
  assert.equal(p.get('events', 'b'), 7, 'never moves back');
  p.advance('events', 'b', 12);
  assert.equal(p.safe('events'), 10);
  assert.deepEqual(moves, [7, 10]);
  assert.equal(p.advance('events', 'stranger', 99), false);
});

test('rows seen just above the minimum extend the safe position; an unseen ID stops it', () => {
  const p = new StreamPositions({ events: ['a', 'b'], typing: ['m'], to_device: ['m'], account_data: ['m'], receipts: ['m'], presence: ['m'], device_lists: ['m'] });
  const moves: number[] = [];
  p.onAdvance((s, _f, to) => { if (s === 'events') moves.push(to); });
  p.advance('events', 'a', 100);
  p.advance('events', 'b', 100);
  p.rowSeen('events', 101); // b committed 101 while a is idle at 100: readable at once
  assert.equal(p.safe('events'), 101);
  p.rowSeen('events', 103); // 102 may be a's, in flight
  assert.equal(p.safe('events'), 101);
  p.advance('events', 'b', 103);
  assert.equal(p.safe('events'), 101, 'b at 103 says nothing about a');
  p.rowSeen('events', 102);
  assert.equal(p.safe('events'), 103, '102 seen: 101..103 all committed');
  p.advance('events', 'a', 102);
  assert.equal(p.safe('events'), 103, 'never moves back to the minimum');
  p.advance('events', 'a', 105);
  assert.equal(p.safe('events'), 103);
  p.advance('events', 'b', 106);
  assert.equal(p.safe('events'), 105);
  p.rowSeen('events', 100);
  assert.deepEqual(moves, [100, 101, 103, 105]);
});

test("access tokens have Synapse's shape and a valid CRC", () => {
  const t = generateAccessToken('@alice:example.org');
  const m = /^(syt_([A-Za-z0-9+/]+)_[A-Za-z]{20})_([0-9A-Za-z]{6})$/.exec(t);
  assert.ok(m, t);
  assert.equal(Buffer.from(m[2]!, 'base64').toString(), 'alice');
  assert.equal(m[3], base62(crc32(Buffer.from(m[1]!)), 6));
  assert.equal(base62(0, 6), '000000');
  assert.equal(base62(61, 1), 'Z');
});

test('router patterns: {v}, one-segment params, and state keys with slashes', () => {
  const { re } = compilePattern('/_matrix/client/{v}/rooms/:room/state/:type/*key');
  assert.deepEqual(re.exec('/_matrix/client/v3/rooms/!a%3Ab/state/m.room.member/@u:x')?.slice(1), ['!a%3Ab', 'm.room.member', '@u:x']);
  assert.deepEqual(re.exec('/_matrix/client/r0/rooms/!a/state/x.y/a/b/c')?.slice(1), ['!a', 'x.y', 'a/b/c']);
  assert.deepEqual(re.exec('/_matrix/client/v3/rooms/!a/state/x.y')?.slice(1), ['!a', 'x.y', '']);
  assert.equal(re.exec('/_matrix/client/v4/rooms/!a/state/x.y'), null);
});

test('config: worker files override, unknown Synapse keys are named, errors carry file:line:column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-config-'));
  const shared = join(dir, 'homeserver.yaml');
  const worker = join(dir, 'worker.yaml');
  writeFileSync(shared, 'server_name: example.org\nreport_stats: false\ndatabase:\n  name: psycopg2\n  args:\n    database: synapse\n    cp_max: 7\nredis:\n  enabled: true\n');
  writeFileSync(worker, 'worker_app: synapse.app.generic_worker\nworker_name: sync1\nworker_listeners:\n  - port: 8083\n    resources:\n      - names: [client]\n');
  const ok = loadHomeserverConfig([shared, worker]);
  assert.equal(ok.config.worker_name, 'sync1');
  assert.equal(ok.config.database.args.cp_max, 7);
  assert.deepEqual(ok.ignoredKeys, ['report_stats']);
  writeFileSync(worker, 'worker_app: synapse.app.generic_worker\nworker_listeners:\n  - port: 99999\n    resources: []\n');
  writeFileSync(shared, 'server_name: example.org\ndatabase:\n  name: sqlite3\n  args: {}\n');
  try {
    loadHomeserverConfig([shared, worker]);
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.message;
    assert.match(text, new RegExp(`${worker.replaceAll('.', '\\.')}:3:11: error`), text);
    assert.match(text, new RegExp(`${shared.replaceAll('.', '\\.')}:3:9: error: .*psycopg2`), text);
  }
});
