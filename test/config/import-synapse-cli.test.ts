/**
 * `gateway import-synapse` as a process: stdout / --out, warnings on stderr, exit status, flags
 * (--role, --synapse-version, --federation-key, --nginx-compatible, --upstream-host, --listen).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseRoutes } from '../../config/routes.ts';
import { fixture } from './fixtures/synapse/helpers.ts';

const CLI = join(import.meta.dirname, '../../gateway/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'import-synapse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function gateway(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'import-synapse', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function fixtureArgs(name: string): string[] {
  const f = fixture(name);
  return [...f.configs.flatMap((c) => ['--config', c]), ...f.workers.flatMap((w) => ['--workers', w])];
}

function withListen(name: string): string[] {
  return [...fixtureArgs(name), '--listen', '127.0.0.1:18008'];
}

describe('gateway import-synapse', () => {
  test('writes routes.yaml to stdout that gateway check accepts; warnings go to stderr', () => {
    const r = gateway([...withListen('docs-example'), '--synapse-version', '1.92']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: security: .*unencrypted \(worker_replication_secret authenticates requests but does not encrypt them\).*\[replication_exposed\]/);
    const loaded = parseRoutes(r.stdout, 'stdout.yaml');
    assert.equal(loaded.config.synapse_version, '1.92');
    assert.deepEqual(loaded.config.listeners.map((l) => `${l.name} ${l.host}:${l.port}`), ['public 127.0.0.1:18008', 'admin 127.0.0.1:9000']);
  });

  test('a gateway listener on a Synapse listener\'s address is refused with a hint (the default 127.0.0.1:8008 is main\'s usual port)', () => {
    const r = gateway(fixtureArgs('docs-example'));
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /public listener 127\.0\.0\.1:8008 \(--listen\) is the address of main's Synapse listener \(.*docs-example\/homeserver\.yaml:11, binds 127\.0\.0\.1:8008\).*pass --listen HOST:PORT/);
    const admin = gateway([...withListen('docs-example'), '--admin-listen', '0.0.0.0:9093']);
    assert.equal(admin.code, 2);
    assert.match(admin.stderr, /admin listener 0\.0\.0\.0:9093 \(--admin-listen\) is the address of main's Synapse listener .*homeserver\.yaml:\d+, binds 127\.0\.0\.1:9093/);
  });

  test('--out, --role, --nginx-compatible, --federation-key origin, --upstream-host, --listen', () => {
    const out = join(dir, 'routes.yaml');
    const r = gateway([...fixtureArgs('large'), '--role', 'initial_sync1=initial_sync', '--nginx-compatible', '--federation-key', 'origin',
      '--upstream-host', 'localhost', '--listen', '0.0.0.0:8448', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const { config } = parseRoutes(readFileSync(out, 'utf8'), out);
    assert.deepEqual(config.upstreams.sync!.balance, { policy: 'nginx_hash', key: 'token_user', fallback: 'round_robin' });
    assert.deepEqual(config.upstreams.federation_inbound!.balance, { policy: 'nginx_hash', key: 'federation_origin', fallback: 'round_robin' });
    assert.deepEqual(config.upstreams.initial_sync!.servers.map((s) => s.url), ['http://localhost:8116']);
    assert.ok(config.upstreams.sync!.servers.some((s) => s.url === 'unix:/run/synapse/synchrotron3.sock'), 'unix sockets keep their path');
    assert.deepEqual(config.listeners[0], { name: 'public', kind: 'public', host: '0.0.0.0', port: 8448 });
  });

  test('bad input exits 2 with a message', () => {
    const noConfig = gateway(['--workers', fixture('legacy').workers[0]!]);
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /--config homeserver.yaml is required/);
    const badRole = gateway([...withListen('legacy'), '--role', 'synchrotron1=synchrotron']);
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /unknown role 'synchrotron'/);
    const badVersion = gateway([...withListen('legacy'), '--synapse-version', '0.99']);
    assert.equal(badVersion.code, 2);
    assert.match(badVersion.stderr, /unknown Synapse version '0.99'/);
    const missing = gateway(['--config', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /file not found/);
  });

  test('--help names every option', () => {
    const r = spawnSync(process.execPath, [CLI, 'import-synapse', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    for (const flag of ['--config', '--workers', '--role', '--synapse-version', '--federation-key', '--nginx-compatible', '--out']) assert.ok(r.stdout.includes(flag), flag);
  });
});
