/**
 * routes.yaml loading: YAML syntax errors, schema errors and semantic errors each point at the
 * exact file:line:column, every error of a file is reported at once, and a valid file comes back
 * deep-frozen with defaults applied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatIssue } from '../../config/errors.ts';
import { loadRoutesFile, parseRoutes } from '../../config/routes.ts';
import { rejected, where } from './routes-support.ts';

const MAIN = `upstreams:
  main:
    servers:
      - {name: main, url: "http://127.0.0.1:8080"}
`;

test('a minimal file loads with defaults applied and deep-frozen', () => {
  const { config, warnings } = parseRoutes(MAIN, 'r.yaml');
  assert.deepEqual(warnings, []);
  assert.equal(config.default_upstream, 'main');
  assert.equal(config.upstreams.main!.servers[0]!.weight, 1);
  assert.deepEqual(config.upstreams.main!.balance, { policy: 'round_robin' });
  assert.equal(config.timeouts.first_byte, 60_000);
  assert.equal(config.listeners.length, 2);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.upstreams.main!.servers[0]));
  assert.throws(() => {
    (config.upstreams.main!.servers as unknown as unknown[]).push({});
  }, TypeError);
});

test('durations and sizes parse to milliseconds and bytes', () => {
  const { config } = parseRoutes(`${MAIN}    health_check: {interval: 2m, timeout: 250ms}
    passive_health: {window: 1.5s, eject_for: 1h}
timeouts: {connect: 3s, first_byte: 1500, idle: 2m}
limits: {max_body: 50M, max_header: 64k}
routes:
  - name: big
    match: {paths: ['^/upload']}
    upstream: main
    limits: {max_body: 1G}
    timeouts: {first_byte: 90s}
`, 'r.yaml');
  const up = config.upstreams.main!;
  assert.equal(up.health_check.interval, 120_000);
  assert.equal(up.health_check.timeout, 250);
  assert.equal(up.passive_health.window, 1500);
  assert.equal(up.passive_health.eject_for, 3_600_000);
  assert.deepEqual(config.timeouts, { connect: 3000, first_byte: 1500, idle: 120_000 });
  assert.deepEqual(config.limits, { max_body: 50 * 1024 * 1024, max_header: 64 * 1024 });
  assert.equal(config.routes[0]!.limits!.max_body, 1024 ** 3);
  assert.equal(config.routes[0]!.timeouts!.first_byte, 90_000);
});

test('bad durations and sizes point at the value', () => {
  const issues = rejected(`${MAIN}timeouts: {connect: 5 s}
limits: {max_body: 1T}
`);
  assert.deepEqual(where(issues), ['5:21 error invalid_value', '6:20 error invalid_value']);
  assert.match(issues[0]!.message, /duration/);
  assert.match(issues[1]!.message, /size/);
});

test('YAML syntax errors point at file:line:column, all of them', () => {
  const issues = rejected('upstreams:\n  main: [1, 2\nroutes: "x\n');
  assert.ok(issues.length >= 2, formatIssue(issues[0]!));
  assert.ok(issues.every((i) => i.code === 'yaml_syntax' && i.file === 'r.yaml'));
  assert.deepEqual(issues.map((i) => `${i.line}:${i.column}`), ['3:1', '4:1']);
});

test('a duplicate YAML key is a syntax error at the second key', () => {
  const issues = rejected(`${MAIN}default_upstream: main\ndefault_upstream: other\n`);
  assert.deepEqual(where(issues), ['6:1 error yaml_syntax']);
});

test('an unknown key points at the key with a did-you-mean hint', () => {
  const issues = rejected(`upstreams:
  main:
    servers:
      - name: main
        url: "http://127.0.0.1:8080"
        wieght: 2
    helth_check: {path: /health}
`);
  assert.deepEqual(where(issues), ['6:9 error unknown_key', '7:5 error unknown_key']);
  assert.equal(issues[0]!.hint, "did you mean 'weight'?");
  assert.equal(issues[1]!.hint, "did you mean 'health_check'?");
  assert.equal(formatIssue(issues[0]!), "r.yaml:6:9: error: unknown key 'wieght' in upstreams.main.servers[0] (hint: did you mean 'weight'?)");
});

test('an unknown key inside a union branch names the branch keys', () => {
  const issues = rejected(`${MAIN}routes:
  - name: r
    match: {paths: ['^/x'], query: {since: {equal: ''}}}
    upstream: main
    balance: {policy: consistent_hash, key: token_user, bounded_laod: 1.25}
`);
  assert.deepEqual(where(issues), ['7:45 error unknown_key', '9:57 error unknown_key']);
  assert.equal(issues[0]!.hint, "did you mean 'equals'?");
  assert.equal(issues[1]!.hint, "did you mean 'bounded_load'?");
});

test('bad enum values and policies get the nearest option', () => {
  const issues = rejected(`upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8080"}]
    balance: {policy: nginx_hsh, key: token_user}
  sync:
    servers: [{name: s, url: "http://127.0.0.1:8081"}]
    balance: {policy: nginx_hash, key: tokn_user}
routes:
  - name: r
    match: {paths: ['^/x'], query: {since: absnt}}
    upstream: main
`);
  assert.deepEqual(where(issues), ['4:23 error invalid_value', '7:40 error invalid_value', '10:44 error invalid_value']);
  assert.deepEqual(issues.map((i) => i.hint), ["did you mean 'nginx_hash'?", "did you mean 'token_user'?", "did you mean 'absent'?"]);
});

test('missing required keys are reported at the enclosing mapping', () => {
  const issues = rejected(`${MAIN}routes:
  - match: {paths: ['^/x']}
`);
  assert.deepEqual(where(issues), ['6:5 error missing_key', '6:5 error missing_key']);
  assert.deepEqual(issues.map((i) => i.message).sort(), ["missing required key 'name' in routes[0]", "missing required key 'upstream' in routes[0]"]);
});

test('an empty file is rejected with a hint', () => {
  assert.deepEqual(where(rejected('# nothing\n')), ['1:1 error empty_file']);
});

test('loadRoutesFile reads from disk and names the file; a missing file is a ConfigError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'routes-'));
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, `${MAIN}default_upstream: mian\n`);
  assert.throws(() => loadRoutesFile(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `${file}:5:19: error: default_upstream 'mian' is not defined under upstreams (hint: did you mean 'main'?)`);
    return true;
  });
  assert.throws(() => loadRoutesFile(join(dir, 'nope.yaml')), /nope\.yaml:1:1: error: cannot read .*file not found/);
});

test('a misspelt required key is one unknown-key error, not also a missing key', () => {
  const issues = rejected('upstream:\n  main:\n    servers: [{name: m, url: "http://127.0.0.1:1"}]\n');
  assert.deepEqual(where(issues), ['1:1 error unknown_key']);
  assert.equal(issues[0]!.hint, "did you mean 'upstreams'?");
});

test('two forms of a union combined, and numeric bounds, get plain messages', () => {
  const issues = rejected(`upstreams:
  main:
    servers: [{name: m, url: "http://127.0.0.1:1", weight: 0}]
    balance: {policy: consistent_hash, key: {header: x, query: y}, bounded_load: 1}
`);
  assert.deepEqual(where(issues), ['3:60 error invalid_value', '4:57 error unknown_key', '4:82 error invalid_value']);
  assert.equal(issues[0]!.message, 'must be >= 1, got 0 in upstreams.main.servers[0].weight');
  assert.match(issues[1]!.message, /^'query' cannot be combined with the other keys here/);
  assert.match(issues[1]!.hint!, /\{header\} or \{query\} or \{cookie\}/);
  assert.equal(issues[2]!.message, 'must be > 1, got 1 in upstreams.main.balance.bounded_load');
});

test('an unquoted version number gets a hint to quote it', () => {
  const issues = rejected(`synapse_version: 1.90\n${MAIN}`);
  assert.deepEqual(where(issues), ['1:18 error invalid_type']);
  assert.equal(issues[0]!.message, 'expected string, got number 1.9 in synapse_version');
  assert.match(issues[0]!.hint!, /^put the value in quotes/);
});
