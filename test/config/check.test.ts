/**
 * `gateway check` as an operator runs it: a real child process of the CLI entry, its exit status
 * and its output, for a valid file, an invalid one, --json, and usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'gateway/cli.ts');
const EXAMPLE = join(ROOT, 'config/examples/nginx-docs.routes.yaml');

async function gateway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function tempFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'check-')), 'routes.yaml');
  writeFileSync(file, text);
  return file;
}

test('a valid file: exit 0 and one summary row per route plus the default', async () => {
  const r = await gateway('check', '--routes', EXAMPLE);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /OK \(synapse 1\.92, 12 routes, 10 upstreams, 0 warnings\)/);
  const row = (name: string): string => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(row('sync-initial'), /^sync-initial +1 regex; \?since absent_or_empty +initial_sync +nginx_hash\(token_user\) +initial_sync1=127\.0\.0\.1:8016 initial_sync2=127\.0\.0\.1:8036$/);
  assert.match(row('sync'), /groups sync \(4 regexes\) +sync +nginx_hash\(token_user\) +sync1=127\.0\.0\.1:8013 sync2=/);
  assert.match(row('push-rules-read'), /groups push_rules \(1 regex\); GET +client_reader +round_robin/);
  assert.match(row('rooms'), /consistent_hash\(room_id\)/);
  assert.match(row('(default)'), /everything else +main +round_robin +main=127\.0\.0\.1:8008/);
  assert.match(r.stdout, /\/_synapse\/replication\/ denied on public listeners/);
});

test('an invalid file: exit 1, every error as file:line:col on stderr, nothing on stdout', async () => {
  const file = tempFile(`upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8080"}]
routes:
  - name: r
    match: {groups: [snyc]}
    upstream: mian
`);
  const r = await gateway('check', '--routes', file);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trim().split('\n'), [
    `${file}:6:22: error: unknown endpoint group 'snyc' (hint: did you mean 'sync'?)`,
    `${file}:7:15: error: route 'r' sends to unknown upstream 'mian' (hint: did you mean 'main'?)`,
    `${file}: 2 errors, 0 warnings`,
  ]);
});

test('an https:// upstream fails the check (serve could not use it)', async () => {
  const file = tempFile(`upstreams:
  main:
    servers: [{name: main, url: "https://127.0.0.1:8448"}]
`);
  const r = await gateway('check', '--routes', file);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${file.replaceAll('.', '\\.')}:3:33: error: server 'main' in upstream 'main' has url scheme 'https://', which the gateway cannot use \\(hint: `));
});

test('warnings are printed after the summary and keep exit 0', async () => {
  const file = tempFile(`listeners:
  - {name: admin, kind: admin, host: 0.0.0.0, port: 9000}
upstreams:
  main:
    servers: [{name: main, url: "http://127.0.0.1:8080"}]
routes:
  - {name: a, match: {paths: ['^/a']}, upstream: main}
  - {name: b, match: {paths: ['^/a'], methods: [GET]}, upstream: main}
`);
  const r = await gateway('check', '--routes', file);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 warnings\)/);
  assert.match(r.stdout, new RegExp(`${file.replaceAll('.', '\\.')}:2:38: warning: admin listener 'admin' is bound to 0\\.0\\.0\\.0`));
  assert.match(r.stdout, /:8:12: warning: route 'b' is never reached/);
});

test('--json prints one JSON object, for success and for failure', async () => {
  const ok = await gateway('check', '--routes', EXAMPLE, '--json');
  assert.equal(ok.code, 0);
  const body = JSON.parse(ok.stdout) as { ok: boolean; routes: { route: string; regexes: number; policy: string }[] };
  assert.equal(body.ok, true);
  assert.equal(body.routes.length, 13);
  assert.deepEqual(body.routes.find((r) => r.route === 'federation-inbound'), {
    route: 'federation-inbound', match: 'groups federation_transaction (1 regex)', regexes: 1, upstream: 'federation_inbound',
    policy: 'consistent_hash(source_ip)', servers: ['federation_inbound1=127.0.0.1:8021', 'federation_inbound2=127.0.0.1:8022'],
  });
  const bad = await gateway('check', '--routes', tempFile('upstreams: {main: {servers: []}}\n'), '--json');
  assert.equal(bad.code, 1);
  const err = JSON.parse(bad.stdout) as { ok: boolean; errors: { line: number; column: number; message: string }[] };
  assert.equal(err.ok, false);
  assert.deepEqual(err.errors.map((e) => [e.line, e.column, e.message]), [[1, 29, 'an upstream needs at least one server in upstreams.main.servers']]);
});

test('a YAML syntax error exits 1 with its position', async () => {
  const file = tempFile('upstreams:\n  main: {servers: [}\n');
  const r = await gateway('check', '--routes', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${file.replaceAll('.', '\\.')}:2:\\d+: error: YAML syntax: `));
});

test('usage errors exit 2; --help exits 0 and describes the options', async () => {
  const none = await gateway('check');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--routes FILE is required/);
  const unknown = await gateway('check', '--routes', EXAMPLE, '--frobnicate');
  assert.equal(unknown.code, 2);
  const help = await gateway('check', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: gateway check --routes FILE \[--json\]/);
  assert.match(help.stdout, /Exit status: 0 valid/);
  const missing = await gateway('check', '--routes', join(ROOT, 'no/such/file.yaml'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /file\.yaml:1:1: error: cannot read .*file not found/);
});
