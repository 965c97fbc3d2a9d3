/**
 * `gateway explain` (issue 2, point 10), run as a real process: JSON lines for single requests
 * and batches, the plain-words explanation, denials, and exit statuses for bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROUTES = 'config/examples/nginx-docs.routes.yaml';
const TOKEN = 'syt_YWxpY2U_abcdefghijabcdefghij_0A1B2C';

function explain(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['gateway/cli.ts', 'explain', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--json prints one decision line', () => {
  const r = explain('--routes', ROUTES, '--url', '/_matrix/client/v3/sync?since=s1', '-H', `Authorization: Bearer ${TOKEN}`, '--json');
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(d), ['route', 'upstream', 'server', 'key', 'policy']);
  assert.equal(d.route, 'sync');
  assert.equal(d.upstream, 'sync');
  assert.match(d.server, /^sync[1-4]$/);
  assert.equal(d.key, 'YWxpY2U');
  assert.equal(d.policy, 'nginx_hash');
});

test('batch mode: one JSON line per request, denials included, same answers as single mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'explain-'));
  const file = join(dir, 'batch.jsonl');
  const lines = [
    { method: 'GET', url: `/_matrix/client/v3/sync?access_token=${TOKEN}` },
    { method: 'PUT', url: '/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/1', headers: { Authorization: `Bearer ${TOKEN}` } },
    { method: 'PUT', url: '/_matrix/federation/v1/send/t1', source_ip: '198.51.100.4' },
    { method: 'GET', url: '/_synapse/replication/get_repl_stream_updates/events' },
    { method: 'GET', url: '/_synapse/admin/v1/users', source_ip: '203.0.113.50' },
    { method: 'GET', url: '/_synapse/admin/v1/users', source_ip: '127.0.0.1' },
    { method: 'POST', url: '/_matrix/client/v3/keys/upload' },
    { method: 'GET', url: '/_synapse/replication/x', listener: 'admin' },
  ];
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const r = explain('--routes', ROUTES, '--batch', file);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(out.length, lines.length);
  assert.deepEqual(out.map((d) => d.route), ['sync-initial', 'rooms', 'federation-inbound', null, null, null, null, null]);
  assert.deepEqual(out.map((d) => d.denied), [undefined, undefined, undefined, 'replication', 'admin', undefined, undefined, undefined]);
  assert.equal(out[1].key, '!abc:example.org');
  assert.equal(out[2].key, '198.51.100.4');
  assert.equal(out[5].upstream, 'main');
  assert.equal(out[5].server, 'main');
  assert.equal(out[3].server, null);
  const single = explain('--routes', ROUTES, '--method', 'PUT', '--url', lines[1]!.url, '--json');
  assert.equal(JSON.parse(single.stdout).server, out[1].server);
});

test('a bad batch line is reported with its line number and exit status 1; the others still print', () => {
  const dir = mkdtempSync(join(tmpdir(), 'explain-'));
  const file = join(dir, 'batch.jsonl');
  writeFileSync(file, '{"url": "/_matrix/client/versions"}\nnot json\n{"method": "GET"}\n');
  const r = explain('--routes', ROUTES, '--batch', file);
  assert.equal(r.status, 1);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.match(r.stderr, /batch\.jsonl:2:/);
  assert.match(r.stderr, /batch\.jsonl:3: "url" must be a string/);
});

test('plain words: the rule, the regex and its catalogue section, the key source, the server, skipped routes', () => {
  const r = explain('--routes', ROUTES, '--url', '/_matrix/client/v3/sync?since=s1&timeout=30000', '-H', `Authorization: Bearer ${TOKEN}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Route: sync \(#4 of 12\) → upstream sync/);
  assert.match(r.stdout, /path matches \^\/_matrix\/client\/\(r0\|v3\)\/sync\$ — catalogue group sync, section "synapse\.app\.generic_worker > Sync requests"/);
  assert.match(r.stdout, /Key: "YWxpY2U", from the Authorization: Bearer header/);
  assert.match(r.stdout, /Server: sync[1-4] \(http:\/\/127\.0\.0\.1:\d+\), picked by nginx_hash/);
  assert.match(r.stdout, /#1 sync-initial: query parameter since is absent or empty, but it is "s1"/);
  assert.match(r.stdout, /#2 sync-full-state: query parameter full_state equals "true", but it is absent/);
  const push = explain('--routes', ROUTES, '--method', 'PUT', '--url', '/_matrix/client/v3/pushrules/global/override/x');
  assert.match(push.stdout, /default upstream main/);
  assert.match(push.stdout, /push-rules-read: path matches .*pushrules\/ \(group push_rules\), but that endpoint is GET-only/);
  const denied = explain('--routes', ROUTES, '--url', '/_synapse/%72eplication/x');
  assert.match(denied.stdout, /Denied \(replication\)/);
});

test('an invalid routes file prints its issues and exits 1; usage errors exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'explain-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'upstreams:\n  main:\n    servers: [{ name: m, url: "http://127.0.0.1:1" }]\nroutes:\n  - name: x\n    match: { groups: [snyc] }\n    upstream: nowhere\n');
  const r = explain('--routes', bad, '--url', '/');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.yaml:6:\d+: error: .*snyc/);
  assert.match(r.stderr, /bad\.yaml:7:\d+: error: .*nowhere/);
  assert.equal(explain('--url', '/').status, 2);
  assert.equal(explain('--routes', ROUTES).status, 2);
  assert.equal(explain('--routes', ROUTES, '--url', '/', '--listener', 'private').status, 2);
  assert.equal(explain('--routes', ROUTES, '--url', '/', '-H', 'no-colon').status, 2);
});
