/**
 * The compiled table's decisions (issue 2 points 6 and 9; issue 3 point 7): built-in denials,
 * the docs' since-splitting and policies from the example routes.yaml reaching their balancers,
 * immutability, and server state surviving a reload.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRoutesFile } from '../../config/routes.ts';
import { RoutesFile } from '../../config/routes-schema.ts';
import { sequentialMatch } from '../../routing/sequential.ts';
import { compileTable, defaultServerStore } from '../../routing/table.ts';
import type { RouteRequest } from '../../routing/types.ts';

const { config } = loadRoutesFile('config/examples/nginx-docs.routes.yaml');
const table = compileTable(config);
const TOKEN = 'syt_YWxpY2U_abcdefghijabcdefghij_0A1B2C';

function req(method: string, url: string, headers: Record<string, string> = {}, sourceIp = '203.0.113.9'): RouteRequest {
  const q = url.indexOf('?');
  return { method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers, sourceIp };
}

test('replication is denied on public listeners, raw, percent-encoded and with doubled slashes', () => {
  for (const url of ['/_synapse/replication/send_event/x', '/_synapse/%72eplication/x', '/_synapse%2Freplication/x', '//_synapse//replication/x',
    '/%5Fsynapse/replication', '/_synapse/replication', '/_synapse/%2572eplication/x']) {
    const d = table.decide(req('POST', url, {}, '127.0.0.1'));
    assert.equal(d.denied, 'replication', url);
    assert.equal(d.route, null);
    assert.equal(d.server, null);
  }
  assert.equal(table.decide(req('POST', '/_synapse/Replication/x')).denied, undefined, 'case-sensitive, like Synapse');
  assert.equal(table.decide(req('POST', '/_synapse/replication/x'), 'admin').denied, undefined);
});

test('admin API: denied on public listeners unless the client address is allowed', () => {
  assert.equal(table.decide(req('GET', '/_synapse/admin/v1/users/@a:b', {}, '203.0.113.9')).denied, 'admin');
  assert.equal(table.decide(req('GET', '/_synapse/%61dmin/v1/users', {}, '203.0.113.9')).denied, 'admin');
  const allowed = table.decide(req('GET', '/_synapse/admin/v1/users/@a:b', {}, '127.0.0.1'));
  assert.equal(allowed.denied, undefined);
  assert.equal(allowed.upstream, 'main');
  assert.equal(table.decide(req('GET', '/_synapse/admin/v1/users', {}, '203.0.113.9'), 'admin').denied, undefined);
  assert.equal(table.decide(req('GET', '/_synapse/client/pick_idp', {}, '203.0.113.9')).denied, undefined);
});

test('admin allow list honours X-Forwarded-For only from trusted proxies', () => {
  const t = compileTable(RoutesFile.parse({
    upstreams: { main: { servers: [{ name: 'main', url: 'http://127.0.0.1:1' }] } },
    trusted_proxies: ['10.0.0.0/8'],
    access: { admin_allow: ['192.0.2.0/24'] },
  }));
  const xff = { 'x-forwarded-for': '198.51.100.1, 192.0.2.5' };
  assert.equal(t.decide(req('GET', '/_synapse/admin/v1/users', xff, '10.1.1.1')).denied, undefined);
  assert.equal(t.decide(req('GET', '/_synapse/admin/v1/users', xff, '203.0.113.1')).denied, 'admin');
  assert.equal(t.decide(req('GET', '/_synapse/admin/v1/users', { 'x-forwarded-for': '192.0.2.5, 198.51.100.1' }, '10.1.1.1')).denied, 'admin');
  assert.equal(t.decide(req('GET', '/_synapse/admin/v1/users', {}, '192.0.2.77')).denied, undefined);
});

test('since splitting: initial syncs to initial_sync, incremental to sync, hashed on the token user', () => {
  const cases: [string, string, string][] = [
    ['/_matrix/client/v3/sync', 'sync-initial', 'initial_sync'],
    ['/_matrix/client/v3/sync?since=', 'sync-initial', 'initial_sync'],
    ['/_matrix/client/v3/sync?since', 'sync-initial', 'initial_sync'],
    ['/_matrix/client/v3/sync?Since=s1', 'sync-initial', 'initial_sync'],
    ['/_matrix/client/r0/sync?since=s1&full_state=true', 'sync-full-state', 'initial_sync'],
    ['/_matrix/client/v3/initialSync', 'initial-sync', 'initial_sync'],
    ['/_matrix/client/v3/rooms/!r:hs/initialSync', 'initial-sync', 'initial_sync'],
    ['/_matrix/client/v3/sync?since=s1&timeout=30000', 'sync', 'sync'],
    ['/_matrix/client/v3/sync?%73ince=s1', 'sync', 'sync'],
    ['/_matrix/client/v3/sync?since=s1&since=', 'sync', 'sync'],
    ['/_matrix/client/v3/events?from=s1', 'sync', 'sync'],
  ];
  for (const [url, route, upstream] of cases) {
    const d = table.decide(req('GET', url, { authorization: `Bearer ${TOKEN}` }));
    assert.equal(d.route?.name, route, url);
    assert.equal(d.upstream, upstream, url);
    assert.equal(d.key, 'YWxpY2U', url);
    assert.equal(d.policy, 'nginx_hash');
    assert.ok(d.server && d.server.upstream === upstream);
  }
  const viaHeader = table.decide(req('GET', '/_matrix/client/v3/sync?since=s1', { authorization: `Bearer ${TOKEN}` }));
  const viaQuery = table.decide(req('GET', `/_matrix/client/v3/sync?since=s2&access_token=${TOKEN}`));
  assert.equal(viaQuery.key, 'YWxpY2U');
  assert.equal(viaQuery.server, viaHeader.server);
});

test('event sending and /messages are sharded by room ID, in either spelling', () => {
  const raw = table.decide(req('PUT', '/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/t1'));
  const enc = table.decide(req('PUT', '/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/t2'));
  const msgs = table.decide(req('GET', '/_matrix/client/v3/rooms/%21abc%3Aexample.org/messages?dir=b'));
  for (const d of [raw, enc, msgs]) {
    assert.equal(d.route?.name, 'rooms');
    assert.equal(d.key, '!abc:example.org');
    assert.equal(d.policy, 'consistent_hash');
    assert.equal(d.server, raw.server);
  }
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) keys.add(table.decide(req('PUT', `/_matrix/client/v3/rooms/!room${i}:hs/send/m.room.message/t`)).server!.name);
  assert.deepEqual([...keys].sort(), ['event_creator1', 'event_creator2']);
});

test('federation, stream writers, push rules, SSO, media and the default upstream', () => {
  const fed = table.decide(req('PUT', '/_matrix/federation/v1/send/txn1', {}, '198.51.100.7'));
  assert.equal(fed.route?.name, 'federation-inbound');
  assert.equal(fed.key, '198.51.100.7');
  assert.equal(table.decide(req('GET', '/_matrix/federation/v1/event/$e')).upstream, 'federation_reader');
  assert.equal(table.decide(req('PUT', '/_matrix/client/v3/rooms/!r:hs/typing/@a:hs')).upstream, 'stream_writer');
  assert.equal(table.decide(req('PUT', '/_matrix/client/v3/sendToDevice/m.x/t')).upstream, 'stream_writer');
  assert.equal(table.decide(req('GET', '/_matrix/client/v3/pushrules/')).route?.name, 'push-rules-read');
  assert.equal(table.decide(req('PUT', '/_matrix/client/v3/pushrules/global/override/x')).route, null);
  assert.equal(table.decide(req('GET', '/_synapse/client/pick_idp')).upstream, 'sso');
  assert.equal(table.decide(req('GET', '/_matrix/media/v3/download/hs/abc')).upstream, 'media');
  const main = table.decide(req('POST', '/_matrix/client/v3/keys/upload'));
  assert.equal(main.route, null);
  assert.equal(main.upstream, 'main');
  assert.equal(main.server?.name, 'main');
  assert.equal(main.policy, 'round_robin');
});

test('the table is immutable and server state survives a reload through the store', () => {
  assert.ok(Object.isFrozen(table));
  assert.ok(Object.isFrozen(table.routes));
  assert.ok(table.routes.every((r) => Object.isFrozen(r)));
  const store = defaultServerStore();
  const a = compileTable(config, { store });
  const b = compileTable(config, { store });
  assert.notEqual(a, b);
  assert.equal(a.upstreams.get('sync')!.servers[0], b.upstreams.get('sync')!.servers[0]);
  const reweighted = RoutesFile.parse({ ...config, upstreams: { ...config.upstreams,
    sync: { ...config.upstreams.sync!, servers: config.upstreams.sync!.servers.map((s, i) => (i === 0 ? { ...s, weight: 5 } : s)) } } });
  a.upstreams.get('sync')!.servers[0]!.available = false;
  const c = compileTable(reweighted, { store });
  assert.equal(c.upstreams.get('sync')!.servers[0]!.weight, 5);
  assert.equal(c.upstreams.get('sync')!.servers[0]!.available, false, 'a new weight keeps the health');
  assert.equal(c.upstreams.get('sync')!.servers[1], a.upstreams.get('sync')!.servers[1]);
  for (const s of b.upstreams.get('client_reader')!.servers) s.available = false;
  const d = a.decide(req('GET', '/_matrix/client/v3/joined_rooms'));
  assert.equal(d.route?.name, 'client');
  assert.equal(d.server, null, 'no server available: the data plane answers 503');
});

test('an unavailable sync server loses its users to the others, who come back on recovery', () => {
  const t = compileTable(config);
  const before = t.decide(req('GET', '/_matrix/client/v3/sync?since=s1', { authorization: `Bearer ${TOKEN}` })).server!;
  before.available = false;
  const during = t.decide(req('GET', '/_matrix/client/v3/sync?since=s1', { authorization: `Bearer ${TOKEN}` })).server!;
  assert.notEqual(during, before);
  before.available = true;
  assert.equal(t.decide(req('GET', '/_matrix/client/v3/sync?since=s1', { authorization: `Bearer ${TOKEN}` })).server, before);
});

test('a route-level balance overrides the upstream policy', () => {
  const t = compileTable(RoutesFile.parse({
    upstreams: {
      main: { servers: [{ name: 'main', url: 'http://127.0.0.1:1' }] },
      pool: { servers: [{ name: 'a', url: 'http://127.0.0.1:2' }, { name: 'b', url: 'http://127.0.0.1:3' }] },
    },
    routes: [{ name: 'msgs', match: { paths: ['/messages$'] }, upstream: 'pool', balance: { policy: 'synapse_shard', key: 'room_id' } },
      { name: 'rest', match: { groups: ['client'] }, upstream: 'pool' }],
  }));
  const d = t.decide(req('GET', '/_matrix/client/v3/rooms/!x:y/messages'));
  assert.equal(d.policy, 'synapse_shard');
  assert.equal(d.key, '!x:y');
  assert.equal(t.decide(req('GET', '/_matrix/client/v3/joined_rooms')).policy, 'round_robin');
});

test('headerNames lists every header decide() reads: decisions on headers cut down to it are unchanged', () => {
  const custom = compileTable(RoutesFile.parse({
    trusted_proxies: ['127.0.0.0/8'],
    upstreams: {
      main: { servers: [{ name: 'm', url: 'http://127.0.0.1:1' }] },
      a: { servers: [{ name: 'a1', url: 'http://127.0.0.1:2' }, { name: 'a2', url: 'http://127.0.0.1:3' }], balance: { policy: 'consistent_hash', key: { header: 'X-Tenant' } } },
      b: { servers: [{ name: 'b1', url: 'http://127.0.0.1:4' }, { name: 'b2', url: 'http://127.0.0.1:5' }], balance: { policy: 'consistent_hash', key: 'source_ip' } },
    },
    routes: [
      { name: 'flagged', match: { paths: ['^/f'], headers: { 'X-Flag': { equals: 'on' } } }, upstream: 'a' },
      { name: 'by-ip', match: { paths: ['^/ip'] }, upstream: 'b' },
      { name: 'by-user', match: { paths: ['^/u'] }, upstream: 'a', balance: { policy: 'consistent_hash', key: 'token_user' } },
    ],
  }));
  const headerSets: Record<string, string>[] = [
    {}, { 'x-flag': 'on', 'x-tenant': 't1' }, { 'x-flag': 'off', 'x-tenant': 't2', 'x-other': '1' },
    { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '198.51.100.7', cookie: 'a=b' },
    { 'x-forwarded-for': '198.51.100.8, 10.0.0.1', 'user-agent': 'x' },
  ];
  for (const [t, urls] of [[custom, ['/f', '/ip', '/u', '/other']], [table, ['/_matrix/client/v3/sync?since=1', '/_matrix/federation/v1/send/1', '/_synapse/admin/v1/x']]] as const) {
    for (const headers of headerSets) {
      const kept = Object.fromEntries(Object.entries(headers).filter(([k]) => t.headerNames.has(k)));
      for (const url of urls) {
        for (const ip of ['127.0.0.1', '203.0.113.9']) {
          const full = t.decide(req('GET', url, headers, ip));
          const cut = t.decide(req('GET', url, kept, ip));
          // Without a key the fallback is round robin (stateful), so the server is compared only for keyed picks.
          const view = (d: typeof full) => ({ route: d.route?.name, upstream: d.upstream, key: d.key, denied: d.denied, server: d.key === null ? null : d.server?.name });
          assert.deepEqual(view(cut), view(full), `${url} ${JSON.stringify(headers)} from ${ip}`);
        }
      }
    }
  }
  assert.ok(custom.headerNames.has('x-flag') && custom.headerNames.has('x-tenant'));
});

test('query conditions read names as Synapse does: form-decoded (+ is a space, %XX a byte), first item wins', () => {
  const config = RoutesFile.parse({
    upstreams: { main: { servers: [{ name: 'main', url: 'http://127.0.0.1:1' }] }, other: { servers: [{ name: 'o', url: 'http://127.0.0.1:2' }] } },
    routes: [{ name: 'spaced', match: { paths: ['^/x$'], query: { 'a b': 'present' } }, upstream: 'other' },
      { name: 'since', match: { paths: ['^/y$'], query: { since: 'non_empty' } }, upstream: 'other' }],
  });
  const t = compileTable(config);
  const cases: [string, string | null][] = [
    ['/x?a+b=1', 'spaced'], ['/x?a%20b=1', 'spaced'], ['/x?z=1&a+b', null], ['/x?a b=1', 'spaced'], ['/x?ab=1&c+d=2', null], ['/x?q=a+b&a+b=', 'spaced'],
    ['/y?%73ince=s1', 'since'], ['/y?since=&%73ince=s1', null], ['/y?x=%25&since=s1', 'since'], ['/y?Since=s1', null], ['/y?a=1;since=s2', 'since'],
  ];
  for (const [url, want] of cases) {
    const r = req('GET', url);
    assert.equal(t.match(r)?.name ?? null, want, url);
    assert.equal(sequentialMatch(config, r) === null ? null : config.routes[sequentialMatch(config, r)!]!.name, want, `sequential ${url}`);
  }
});
