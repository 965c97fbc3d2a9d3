/**
 * Semantic checks of routes.yaml: each error kind at its exact line:column with a hint, every
 * error of a file in one report, warnings for shadowed and catch-all routes and an exposed admin
 * listener, and the shipped examples load clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRoutesFile, parseRoutes } from '../../config/routes.ts';
import { Server } from '../../config/routes-schema.ts';
import { rejected, where } from './routes-support.ts';
import { SYNAPSE_VERSIONS } from '../../routing/catalogue/index.ts';

/** Two upstreams (lines 1-7); routes start at line 8. */
const HEAD = `upstreams:
  main:
    servers:
      - {name: main, url: "http://127.0.0.1:8080"}
  sync:
    servers:
      - {name: s1, url: "http://127.0.0.1:8081"}
`;

test('unknown upstream in a route: at the upstream value, nearest name as hint', () => {
  const issues = rejected(`${HEAD}routes:
  - name: r
    match: {groups: [sync]}
    upstream: snyc
`);
  assert.deepEqual(where(issues), ['11:15 error unknown_upstream']);
  assert.equal(issues[0]!.hint, "did you mean 'sync'?");
});

test('unknown upstream without a near name lists the known ones', () => {
  const issues = rejected(`${HEAD}routes:
  - name: r
    match: {groups: [sync]}
    upstream: federation
`);
  assert.equal(issues[0]!.hint, "upstreams: 'main', 'sync'");
});

test('unknown default_upstream: at its value', () => {
  const issues = rejected(`${HEAD}default_upstream: mian\n`);
  assert.deepEqual(where(issues), ['8:19 error unknown_upstream']);
  assert.equal(issues[0]!.hint, "did you mean 'main'?");
});

test('default_upstream left at its default must exist', () => {
  const issues = rejected('upstreams:\n  sync:\n    servers: [{name: s, url: "http://127.0.0.1:1"}]\n');
  assert.equal(issues[0]!.code, 'unknown_upstream');
  assert.match(issues[0]!.message, /default_upstream 'main'/);
});

test('invalid regex in paths and in a matches condition: the JS RegExp error', () => {
  const issues = rejected(`${HEAD}routes:
  - name: r
    match:
      paths: ['^/ok$', '^/_matrix/(client']
      headers: {user-agent: {matches: '[a-'}}
    upstream: main
`);
  assert.deepEqual(where(issues), ['11:24 error invalid_regex', '12:39 error invalid_regex']);
  assert.match(issues[0]!.message, /^invalid regex: Invalid regular expression: \/\^\/_matrix\/\(client\/: Unterminated group/);
  assert.match(issues[1]!.message, /Unterminated character class/);
});

test('unknown catalogue group: at the group, nearest names as hint', () => {
  const issues = rejected(`${HEAD}routes:
  - name: r
    match: {groups: [sync, federation_transactions, nonsense_here]}
    upstream: sync
`);
  assert.deepEqual(where(issues), ['10:28 error unknown_group', '10:53 error unknown_group']);
  assert.equal(issues[0]!.hint, "did you mean 'federation_transaction'?");
  assert.match(issues[1]!.hint!, /^groups: 'sync', 'federation'/);
});

test('a group that exists in later releases only has no endpoints in an older one', () => {
  const issues = rejected(`synapse_version: "1.92"\n${HEAD}routes:
  - name: r
    match: {groups: [device_lists]}
    upstream: sync
`);
  assert.deepEqual(where(issues), ['11:22 error unknown_group']);
  assert.match(issues[0]!.message, /no endpoints in Synapse 1\.92/);
});

test('unknown synapse_version lists the known ones', () => {
  const issues = rejected(`synapse_version: "1.12"\n${HEAD}`);
  assert.deepEqual(where(issues), ['1:18 error unknown_synapse_version']);
  assert.equal(issues[0]!.hint, `write MAJOR.MINOR of a release the catalogue knows (${SYNAPSE_VERSIONS[0]} to ${SYNAPSE_VERSIONS.at(-1)})`);
});

test('duplicate route names, server names and listener names/ports point at the second one', () => {
  const issues = rejected(`listeners:
  - {name: public, kind: public, port: 8008}
  - {name: public, kind: admin, port: 9000}
  - {name: other, kind: public, host: 0.0.0.0, port: 8008}
upstreams:
  main:
    servers:
      - {name: a, url: "http://127.0.0.1:1"}
      - {name: a, url: "http://127.0.0.1:2"}
routes:
  - {name: r, match: {paths: ['^/a']}, upstream: main}
  - {name: r, match: {paths: ['^/b']}, upstream: main}
`);
  assert.deepEqual(where(issues), [
    '3:12 error duplicate_name', '4:54 error duplicate_port', '9:16 error duplicate_name', '12:12 error duplicate_name',
  ]);
  assert.deepEqual(issues.map((i) => i.hint), ['first defined at line 2', 'first bound at line 2', 'first defined at line 8', 'first defined at line 11']);
});

test('the same port on two different specific hosts is fine; port 0 never clashes', () => {
  const { warnings } = parseRoutes(`listeners:
  - {name: a, kind: public, host: 127.0.0.1, port: 8008}
  - {name: b, kind: public, host: 127.0.0.2, port: 8008}
  - {name: c, kind: admin, port: 0}
  - {name: d, kind: admin, port: 0}
${HEAD}`, 'r.yaml');
  assert.deepEqual(warnings, []);
});

test('every error of a file is reported at once, schema errors included, in file order', () => {
  const issues = rejected(`${HEAD}routes:
  - name: a
    match: {groups: [snyc], paths: ['(']}
    upstream: nowhere
  - name: a
    match: {groups: [sync]}
    upstream: main
default_upstream: gone
`);
  assert.deepEqual(where(issues), [
    '10:22 error unknown_group', '10:37 error invalid_regex', '11:15 error unknown_upstream', '12:11 error duplicate_name', '15:19 error unknown_upstream',
  ]);
  const schema = rejected(`${HEAD}routes:
  - name: a
    matsh: {groups: [sync]}
    upstream: main
    long_poll: yes please
`);
  assert.deepEqual(where(schema), ['10:5 error unknown_key', '12:16 error invalid_type']);
  assert.equal(schema[0]!.hint, "did you mean 'match'?");
});

test('schema errors and the semantic errors of the parts the schema accepted come in one report', () => {
  const issues = rejected(`upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8080"}]
  sync:
    servers: [{name: s1, url: "http://127.0.0.1:8081"}]
    balance: {policy: nginx_hsh}
routes:
  - name: a
    match: {groups: [snyc]}
    upstream: sync
  - name: b
    match: {paths: ['^/x']}
    upstream: nowhere
    long_poll: maybe
  - name: c
    match: {paths: ['(']}
    upstream: main
timeouts: {connect: soon}
default_upstream: gone
`);
  assert.deepEqual(where(issues), [
    '6:23 error invalid_value', '9:22 error unknown_group', '14:16 error invalid_type', '16:21 error invalid_regex',
    '18:21 error invalid_value', '19:19 error unknown_upstream',
  ]);
});

test('empty groups, paths or methods lists are errors (they would match everything or nothing)', () => {
  const issues = rejected(`${HEAD}routes:
  - {name: r, match: {groups: [], paths: ['^/a'], methods: []}, upstream: main}
`);
  assert.deepEqual(where(issues), ['9:31 error invalid_value', '9:60 error invalid_value']);
  assert.equal(issues[0]!.message, 'empty groups list');
});

test('a route that matches everything is a warning, and shadows what follows', () => {
  const { warnings } = parseRoutes(`${HEAD}routes:
  - name: all
    match: {}
    upstream: sync
  - name: later
    match: {groups: [sync]}
    upstream: main
`, 'r.yaml');
  assert.deepEqual(where(warnings), ['10:12 warning empty_match', '12:11 warning shadowed_route']);
  assert.match(warnings[1]!.message, /'later' is never reached.*'all'/);
  assert.equal(warnings[1]!.hint, "route 'all' is at line 9; move this route above it or narrow that one");
});

test('shadowing: a group covers its own regexes; conditions and methods must be no stricter', () => {
  const { warnings } = parseRoutes(`${HEAD}routes:
  - {name: sync-all, match: {groups: [sync]}, upstream: sync}
  - {name: sync-one, match: {paths: ['^/_matrix/client/(r0|v3)/sync$'], methods: [GET]}, upstream: main}
  - {name: gets, match: {paths: ['^/x'], methods: [GET]}, upstream: main}
  - {name: x-any, match: {paths: ['^/x']}, upstream: main}
  - {name: x-get-q, match: {paths: ['^/x'], methods: [GET], query: {a: present}}, upstream: main}
  - {name: y-q, match: {paths: ['^/y'], query: {a: present}}, upstream: main}
  - {name: y-any, match: {paths: ['^/y']}, upstream: main}
  - {name: pr, match: {groups: [push_rules]}, upstream: main}
  - {name: pr-get, match: {paths: ['^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/'], methods: [GET]}, upstream: main}
  - {name: pr-put, match: {paths: ['^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/'], methods: [PUT]}, upstream: main}
`, 'r.yaml');
  assert.deepEqual(warnings.map((w) => w.message.match(/'([^']+)' is never reached: .* route '([^']+)'/)!.slice(1).join('<')), [
    'sync-one<sync-all', 'x-get-q<gets', 'pr-get<pr',
  ]);
  assert.deepEqual(where(warnings), ['10:12 warning shadowed_route', '13:12 warning shadowed_route', '17:12 warning shadowed_route']);
});

test('an admin listener on a non-loopback host is a warning at the host', () => {
  const { warnings } = parseRoutes(`listeners:
  - {name: pub, kind: public, host: 0.0.0.0, port: 8008}
  - {name: adm, kind: admin, host: 0.0.0.0, port: 9000}
  - {name: adm6, kind: admin, host: "::1", port: 9001}
${HEAD}`, 'r.yaml');
  assert.deepEqual(where(warnings), ['3:36 warning admin_exposed']);
});

test('trusted_proxies and admin_allow must be real addresses with valid prefixes', () => {
  const issues = rejected(`${HEAD}trusted_proxies: [10.0.0.0/8, 10.0.0.300, "fd00::/129"]
access: {admin_allow: [::1, 192.168.0.0/33]}
`);
  assert.deepEqual(where(issues), ['8:31 error invalid_cidr', '8:43 error invalid_cidr', '9:29 error invalid_cidr']);
});

test('an https:// server url is an error at the url: the gateway has no TLS client', () => {
  const issues = rejected(`upstreams:
  main:
    servers:
      - {name: main, url: "https://127.0.0.1:8448"}
`);
  assert.deepEqual(where(issues), ['4:27 error unsupported_scheme']);
  assert.equal(issues[0]!.message, "server 'main' in upstream 'main' has url scheme 'https://', which the gateway cannot use");
  assert.match(issues[0]!.hint!, /plain HTTP\/1\.1 to upstreams .*UNIX socket.*terminate TLS elsewhere/);
});

test('every unsupported url scheme is reported at once, with the other errors of the file', () => {
  const issues = rejected(`${HEAD}  media:
    servers:
      - {name: m1, url: "h2c://127.0.0.1:8085"}
      - {name: m2, url: "HTTP://127.0.0.1:8086"}
      - {name: m3, url: "ws://127.0.0.1:8088"}
      - {name: m4, url: "http://127.0.0.1:8087"}
      - {name: m5, url: "unix:/run/synapse/media.sock"}
routes:
  - {name: r, match: {paths: ['^/a']}, upstream: mediq}
`);
  assert.deepEqual(where(issues), [
    '10:25 error unsupported_scheme', '11:25 error unsupported_scheme', '12:25 error unsupported_scheme', '16:50 error unknown_upstream',
  ]);
  assert.match(issues[0]!.message, /'h2c:\/\/'/);
  assert.match(issues[0]!.hint!, /http:\/\/host:port or unix:\/path/);
  assert.equal(issues[1]!.hint, 'write the scheme in lower case: http://');
  assert.equal(issues[2]!.hint, issues[0]!.hint);
});

test('the Server schema itself takes only http:// and unix: urls (other users of it, e.g. simulate --add, rely on that)', () => {
  const ok = (url: string): boolean => Server.safeParse({ name: 's', url }).success;
  assert.deepEqual(['http://127.0.0.1:8080', 'unix:/run/s.sock', 'https://127.0.0.1:8448', 'ftp://x', 'HTTP://x:1'].map(ok), [true, true, false, false, false]);
});

test('a server url that cannot be parsed is an error at the url, not a failure at serve', () => {
  const issues = rejected(`upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:99999"}]
`);
  assert.deepEqual(where(issues), ['3:33 error invalid_value']);
  assert.equal(issues[0]!.message, "server 'main' in upstream 'main' has an invalid url 'http://127.0.0.1:99999'");
});

test('a server url that is the default public listener is an error at the url naming it', () => {
  const issues = rejected(`upstreams:
  main:
    servers:
      - {name: main, url: "http://127.0.0.1:8008"}
`);
  assert.deepEqual(where(issues), ['4:27 error server_is_listener']);
  assert.equal(issues[0]!.message, "server 'main' in upstream 'main' is the gateway's own public listener 'public' (127.0.0.1:8008)");
  assert.match(issues[0]!.hint!, /proxy to itself.*declare `listeners:` on other ports: without them the gateway listens on public 127\.0\.0\.1:8008 and admin 127\.0\.0\.1:9000/);
});

test('server urls that are a listener: wildcard hosts, localhost, case, admin listeners; all at once', () => {
  const issues = rejected(`listeners:
  - {name: pub, kind: public, host: 0.0.0.0, port: 8080}
  - {name: pub6, kind: public, host: "::", port: 8443}
  - {name: adm, kind: admin, host: localhost, port: 9000}
  - {name: side, kind: public, host: Gw.Example, port: 8090}
upstreams:
  main:
    servers:
      - {name: a, url: "http://localhost:8080"}
      - {name: b, url: "http://[::1]:8443"}
      - {name: c, url: "http://127.0.0.5:8443/"}
      - {name: d, url: "http://127.0.0.1:9000"}
      - {name: e, url: "http://[::1]:9000"}
      - {name: f, url: "http://GW.example:8090"}
      - {name: g, url: "http://0.0.0.0:8080"}
  ok:
    servers:
      - {name: remote, url: "http://10.0.0.5:8080"}
      - {name: other-port, url: "http://127.0.0.1:9001"}
      - {name: other-host, url: "http://gw2.example:8090"}
      - {name: default-port, url: "http://127.0.0.1"}
      - {name: socket, url: "unix:/run/synapse/main.sock"}
routes:
  - {name: r, match: {paths: ['^/a']}, upstream: ok}
`);
  assert.deepEqual(where(issues), [
    '9:24 error server_is_listener', '10:24 error server_is_listener', '11:24 error server_is_listener', '12:24 error server_is_listener',
    '13:24 error server_is_listener', '14:24 error server_is_listener', '15:24 error server_is_listener',
  ]);
  assert.deepEqual(issues.map((i) => i.message.replace(/^server '(\w)' in upstream 'main' is the gateway's own (\w+) listener '(\w+)' \((.*)\)$/, '$1 $2 $3 $4')), [
    'a public pub 0.0.0.0:8080', 'b public pub6 [::]:8443', 'c public pub6 [::]:8443', 'd admin adm localhost:9000', 'e admin adm localhost:9000',
    'f public side Gw.Example:8090', 'g public pub 0.0.0.0:8080',
  ]);
  assert.match(issues[3]!.hint!, /proxy to itself.*move listener 'adm' \(line 4\) to another port/);
});

test('address families: 0.0.0.0 takes IPv4 loopback only, :: (dual-stack) takes both', () => {
  const { warnings } = parseRoutes(`listeners:
  - {name: pub, kind: public, host: 0.0.0.0, port: 8080}
  - {name: adm, kind: admin, host: 127.0.0.1, port: 9000}
upstreams:
  main:
    servers:
      - {name: v6, url: "http://[::1]:8080"}
      - {name: v6any, url: "http://[::]:8080"}
`, 'r.yaml');
  assert.deepEqual(warnings, [], 'a socket bound to 0.0.0.0 does not accept connections to ::1');
  const issues = rejected(`listeners:
  - {name: pub6, kind: public, host: "::", port: 8443}
  - {name: adm, kind: admin, host: 127.0.0.1, port: 9000}
upstreams:
  main:
    servers:
      - {name: v4, url: "http://127.0.0.1:8443"}
      - {name: v6, url: "http://[::1]:8443"}
      - {name: any4, url: "http://0.0.0.0:8443"}
`);
  assert.deepEqual(where(issues), ['7:25 error server_is_listener', '8:25 error server_is_listener', '9:27 error server_is_listener']);
});

test('a listener on port 0 or one the schema rejected is never taken for a server', () => {
  const { warnings } = parseRoutes(`listeners:
  - {name: pub, kind: public, port: 0}
upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8008"}]
`, 'r.yaml');
  assert.deepEqual(warnings, []);
  // A listeners list the schema rejects is replaced by the defaults to check the rest: no false match.
  const issues = rejected(`listeners: {pub: 8008}
upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8008"}]
`);
  assert.deepEqual(where(issues), ['1:12 error invalid_type']);
});

test('header and query conditions of every form are accepted', () => {
  const { config } = parseRoutes(`${HEAD}routes:
  - name: r
    match:
      paths: ['^/a']
      query: {since: absent_or_empty, full_state: {equals: "true"}, x: present, y: non_empty, z: absent}
      headers: {x-bridge: {matches: '^mautrix'}}
    upstream: sync
`, 'r.yaml');
  assert.deepEqual(config.routes[0]!.match.query, { since: 'absent_or_empty', full_state: { equals: 'true' }, x: 'present', y: 'non_empty', z: 'absent' });
});

test('the shipped examples load without errors or warnings', () => {
  const dir = join(import.meta.dirname, '../../config/examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.routes.yaml'));
  assert.ok(files.includes('nginx-docs.routes.yaml') && files.includes('minimal.routes.yaml'));
  for (const f of files) {
    const { warnings, config } = loadRoutesFile(join(dir, f));
    assert.deepEqual(warnings, [], f);
    assert.ok(config.routes.length > 0, f);
  }
});

test('the nginx-docs example expresses the documented policies', () => {
  const { config } = loadRoutesFile(join(import.meta.dirname, '../../config/examples/nginx-docs.routes.yaml'));
  const route = (name: string) => config.routes.find((r) => r.name === name)!;
  const policy = (up: string) => config.upstreams[up]!.balance;
  assert.deepEqual(config.routes.slice(0, 4).map((r) => r.upstream), ['initial_sync', 'initial_sync', 'initial_sync', 'sync']);
  assert.deepEqual(route('sync-initial').match.query, { since: 'absent_or_empty' });
  assert.deepEqual(route('sync-full-state').match.query, { full_state: { equals: 'true' } });
  assert.deepEqual(policy('sync'), { policy: 'nginx_hash', key: 'token_user', fallback: 'round_robin' });
  assert.deepEqual(config.upstreams.sync!.servers.map((s) => s.url), [8013, 8037, 8038, 8039].map((p) => `http://127.0.0.1:${p}`));
  assert.deepEqual(config.upstreams.initial_sync!.servers.map((s) => s.url), [8016, 8036].map((p) => `http://127.0.0.1:${p}`));
  assert.equal(policy(route('federation-inbound').upstream).policy, 'consistent_hash');
  assert.deepEqual(policy(route('rooms').upstream), { policy: 'consistent_hash', key: 'room_id', fallback: 'round_robin' });
  assert.equal(config.upstreams[route('sso').upstream]!.servers.length, 1);
  assert.deepEqual(route('push-rules-read').match.methods, ['GET']);
  assert.equal(config.default_upstream, 'main');
  assert.equal(config.upstreams.main!.servers[0]!.url, 'http://127.0.0.1:8008');
});
