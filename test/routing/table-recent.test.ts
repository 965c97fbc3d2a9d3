/**
 * The recent-path memo in front of the routing DFA (routing/compile.ts `RecentPaths`): a small
 * direct-mapped table, so different paths share slots. More distinct paths of one length than
 * slots (so paths of different routes collide), routed differently and requested in random order as fresh string objects, must
 * each get the sequential evaluator's answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRoutesFile } from '../../config/routes.ts';
import { sequentialMatch } from '../../routing/sequential.ts';
import { compileTable } from '../../routing/table.ts';
import type { RouteRequest } from '../../routing/types.ts';
import { Prng } from './property-gen.ts';

test('more distinct paths than memo slots, in random order: compiled == sequential on each', () => {
  const { config } = loadRoutesFile('config/examples/nginx-docs.routes.yaml');
  const table = compileTable(config);
  const templates = [
    (i: number) => `/_matrix/client/v3/rooms/!r${i}:hs/messages`, (i: number) => `/_matrix/client/v3/rooms/!r${i}:hs/send/m.room.message/t`,
    (i: number) => `/_matrix/federation/v1/send/t${i}`, (i: number) => `/_matrix/media/v3/download/hs/${i}`, (i: number) => `/x/${i}/`,
    (i: number) => `/_matrix/client/v3/user/${i}/account_data/x`, (i: number) => `/_matrix/client/v3/rooms/${i}/initialSync`,
  ];
  const pool = ['/_matrix/client/v3/sync', '/_matrix/client/r0/sync', '/_matrix/client/v3/keys/query'];
  // Every templated path padded to one length, so slots differ only by the units sampled.
  for (let i = 0; i < 150; i++) for (const t of templates) pool.push(t(i).padEnd(64, 'z'));
  const rng = new Prng(5);
  const routes = new Set<string>();
  for (let i = 0; i < 30_000; i++) {
    // A fresh string object each time, as the data plane slices each request target anew.
    const path = Buffer.from(rng.pick(pool), 'latin1').toString('latin1');
    const r: RouteRequest = { method: rng.pick(['GET', 'PUT']), path, query: rng.chance(0.5) ? 'since=s1' : '', headers: {}, sourceIp: '127.0.0.1' };
    const got = table.match(r);
    assert.equal(got?.index ?? -1, sequentialMatch(config, r) ?? -1, `${r.method} ${path}`);
    routes.add(got?.name ?? '(default)');
  }
  assert.ok(pool.length > 1_000 && routes.size >= 6, `${pool.length} paths reach ${[...routes].join(', ')}`);
});
