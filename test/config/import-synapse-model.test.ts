/**
 * The intermediate model of import-synapse: role inference (legacy worker_app, docker worker-type
 * names, --role), listener URLs (wildcards, IPv6, unix sockets, per-resource listeners) and the
 * warnings of issue 4 point 1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../config/errors.ts';
import { connectHost, isLoopback } from '../../config/synapse/listeners.ts';
import { readDeployment } from '../../config/synapse/read.ts';
import { dockerTypesInName, inferRoles, isGeneric, parseRoleOverrides } from '../../config/synapse/roles.ts';
import { SynapseConfigError } from '../../config/synapse/types.ts';
import { importSynapse } from '../../config/synapse/index.ts';
import { withHost } from '../../config/synapse/model.ts';
import { fixture, FIXTURES, GATEWAY_LISTEN, importFixture, SAMPLES } from './fixtures/synapse/helpers.ts';

describe('role inference', () => {
  test('docker worker-type names, as configure_workers_and_start.py builds them', () => {
    assert.deepEqual(dockerTypesInName('synchrotron1'), ['synchrotron']);
    assert.deepEqual(dockerTypesInName('event_creator+event_persister1').sort(), ['event_creator', 'event_persister']);
    assert.deepEqual(dockerTypesInName('federation_inbound2'), ['federation_inbound']);
    assert.deepEqual(dockerTypesInName('account_data+presence+receipts+to_device+typing1').sort(), ['account_data', 'presence', 'receipts', 'to_device', 'typing']);
    assert.deepEqual(dockerTypesInName('generic_worker1'), []);
    assert.deepEqual(dockerTypesInName('my-media_repository-3'), ['media_repository']);
    assert.deepEqual(dockerTypesInName('presences1'), [], 'a type must stand between non-letters');
  });

  test('legacy worker_app names and shared-config roles', () => {
    const dep = readDeployment(fixture('legacy'));
    inferRoles(dep, new Map());
    const roles = (n: string) => dep.workers.find((w) => w.name === n)!.roles.map((r) => `${r.role}:${r.source}`).sort();
    assert.deepEqual(roles('synchrotron1'), ['sync:worker_app', 'sync:worker_name']);
    assert.deepEqual(roles('synapse.app.frontend_proxy'), ['client:worker_app'], 'frontend_proxy1.yaml sets no worker_name: Synapse names it after worker_app');
    assert.equal(dep.warnings.find((w) => w.code === 'missing_worker_name')!.message.includes("'synapse.app.frontend_proxy'"), true);
    assert.deepEqual(roles('media1'), ['media:listener', 'media:worker_app']);
    assert.deepEqual(roles('pusher1'), ['pusher:worker_app', 'pusher:worker_name']);
  });

  test('--role replaces inferred proxy roles but keeps what the shared config says', () => {
    const dep = readDeployment(fixture('large'));
    inferRoles(dep, parseRoleOverrides(['synchrotron1=client', 'user_dir1=sync,initial_sync']));
    const w = (n: string) => dep.workers.find((x) => x.name === n)!;
    assert.deepEqual(w('synchrotron1').roles.map((r) => r.role), ['client']);
    assert.deepEqual(w('user_dir1').roles.map((r) => `${r.role}:${r.source}`), ['sync:override', 'initial_sync:override', 'user_dir:shared_config']);
    assert.equal(isGeneric(w('client_reader1')), false);
    assert.equal(isGeneric(w('initial_sync1')), true, 'no role from name, app or --role');
  });

  test('bad --role values are errors with hints', () => {
    assert.throws(() => parseRoleOverrides(['w1']), /expected WORKER=ROLE/);
    assert.throws(() => parseRoleOverrides(['w1=synk']), (e: unknown) => e instanceof SynapseConfigError && /did you mean 'sync'/.test(e.message));
    const dep = readDeployment(fixture('legacy'));
    assert.throws(() => inferRoles(dep, parseRoleOverrides(['synchrotron9=sync'])), /no worker is named 'synchrotron9'.*synchrotron1/);
  });
});

describe('worker names', () => {
  test('two workers without worker_name: both run, named after their files, with a warning at worker_app; stream_writers still match the worker_app name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-noname-'));
    try {
      writeFileSync(join(dir, 'homeserver.yaml'), 'server_name: example.com\nlisteners:\n  - {port: 8008, x_forwarded: true, bind_addresses: [127.0.0.1], resources: [{names: [client, federation]}]}\n' +
        'instance_map:\n  main: {host: 127.0.0.1, port: 9093}\n  synapse.app.generic_worker: {host: 127.0.0.1, port: 9094}\nstream_writers:\n  typing: synapse.app.generic_worker\n');
      const worker = (file: string, port: number, name = '') => {
        writeFileSync(join(dir, file), `# ${file}\nworker_app: synapse.app.generic_worker\n${name}worker_listeners:\n  - {port: ${port}, x_forwarded: true, bind_addresses: [127.0.0.1], resources: [{names: [client]}]}\n`);
        return join(dir, file);
      };
      const files = [worker('generic1.yaml', 8081), worker('generic2.yaml', 8082)];
      const result = importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers: files }, { listen: GATEWAY_LISTEN });
      assert.deepEqual(result.deployment.workers.map((w) => `${w.name}/${w.instanceName}`), ['generic1/synapse.app.generic_worker', 'generic2/synapse.app.generic_worker']);
      assert.deepEqual(result.plan.upstreams.find((u) => u.name === 'client')!.servers.map((s) => s.name), ['generic1', 'generic2']);
      const dup = result.plan.warnings.filter((w) => w.code === 'duplicate_instance_name');
      assert.deepEqual(dup.map((w) => `${w.file!.split('/').at(-1)}:${w.line}`), ['generic1.yaml:2', 'generic2.yaml:2']);
      assert.match(dup[1]!.message, /no worker_name.*'synapse\.app\.generic_worker'.*as .*generic1\.yaml.*replication/);
      assert.ok(result.plan.routes.some((r) => r.name === 'stream-typing'), 'stream_writers names the instance (worker_app)');
      // Two explicit worker_names that collide stay an error, at the second one's worker_name.
      const named = [worker('a.yaml', 8083, 'worker_name: w1\n'), worker('b.yaml', 8084, 'worker_name: w1\n')];
      assert.throws(() => readDeployment({ configs: [join(dir, 'homeserver.yaml')], workers: named }),
        (e: unknown) => e instanceof SynapseConfigError && /b\.yaml:3:14: worker_name 'w1' is already used by .*a\.yaml/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('listeners', () => {
  test('wildcards become loopback, IPv6 gets brackets', () => {
    assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
    assert.equal(connectHost('::'), '[::1]');
    assert.equal(connectHost('fd00::5'), '[fd00::5]');
    assert.equal(connectHost('10.1.2.3'), '10.1.2.3');
    assert.equal(isLoopback('127.0.0.1'), true);
    assert.equal(isLoopback('[::1]'), true);
    assert.equal(isLoopback('0.0.0.0'), false);
  });

  test('unix-socket main, per-resource listeners, default dual-stack binds', () => {
    const imp = importFixture('warnings', '1.92', ['worker_b=federation_reader']);
    const urls = (u: string) => imp.table.upstreams.get(u)!.servers.map((s) => `${s.name}=${s.url}`);
    assert.deepEqual(urls('main'), ['main=unix:/run/synapse/main_public.sock']);
    assert.deepEqual(urls('client'), ['worker_a=http://[::1]:8202']);
    assert.deepEqual(urls('federation_reader'), ['worker_b=http://127.0.0.1:8204', 'worker_a=http://[::1]:8203']);
    assert.equal(imp.decide(SAMPLES.federation!).upstream, 'federation_reader');
  });
});

describe('main process listeners', () => {
  const listen = { host: '127.0.0.1', port: 18008 };

  test('separate client and federation listeners: federation and key requests no worker claims reach the federation listener', () => {
    const imp = importFixture('split-main', '1.92', [], { listen });
    const urls = (u: string) => imp.table.upstreams.get(u)!.servers.map((s) => `${s.name}=${s.url}`);
    assert.deepEqual(urls('main'), ['main=http://127.0.0.1:8008']);
    assert.deepEqual(urls('main_federation'), ['main=http://127.0.0.1:8448']);
    for (const path of ['/_matrix/key/v2/server', '/_matrix/federation/v1/version', '/_matrix/federation/v1/event/$ev1']) {
      assert.deepEqual([path, imp.decide({ method: 'GET', path }).upstream], [path, 'main_federation']);
    }
    assert.equal(imp.decide(SAMPLES.federation_transaction!).upstream, 'main_federation');
    assert.equal(imp.decide(SAMPLES.client!).upstream, 'client');
    assert.equal(imp.decide({ method: 'GET', path: '/.well-known/matrix/client' }).upstream, 'main');
    assert.equal(imp.result.plan.routes.at(-1)!.name, 'main-federation', 'after every worker route');
    assert.match(imp.result.yaml, /separate from its client listener/);
  });

  test('a gateway listener on an emitted server address is refused: wildcard binds and --upstream-host count', () => {
    const ws = { host: '0.0.0.0', port: 8083 };
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: ws }), (e: unknown) => e instanceof SynapseConfigError &&
      /public listener 0\.0\.0\.0:8083 \(--listen\) is the address of generic1's Synapse listener \(.*generic1\.yaml:4, binds 127\.0\.0\.1:8083\)/.test(e.message));
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: { host: 'localhost', port: 8448 } }), /127\.0\.0\.1:8448/);
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: { host: '10.0.0.5', port: 8083 }, upstreamHost: '10.0.0.5' }),
      /server 'generic1' \(http:\/\/10\.0\.0\.5:8083\) in upstream 'sync': the gateway would proxy to itself/);
    assert.doesNotThrow(() => importFixture('split-main', '1.92', [], { listen: { host: '10.0.0.5', port: 8083 } }), 'another address on the same port is fine');
  });

  test('--upstream-host naming another host: Synapse\'s bind addresses are that host\'s, only the server URLs count', () => {
    // Docker Compose: Synapse in another container, the gateway on every address of its own.
    assert.doesNotThrow(() => importFixture('docs-example', '1.92', [], { listen: { host: '0.0.0.0', port: 8008 }, upstreamHost: 'synapse' }));
    assert.doesNotThrow(() => importFixture('split-main', '1.92', [], { listen: { host: '10.0.0.2', port: 8083 }, upstreamHost: '10.0.0.1' }));
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: { host: '10.0.0.1', port: 8083 }, upstreamHost: '10.0.0.1' }),
      /server 'generic1' \(http:\/\/10\.0\.0\.1:8083\)/);
    // A loopback --upstream-host is this machine: the bind addresses still count.
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: { host: '0.0.0.0', port: 8083 }, upstreamHost: 'localhost' }),
      /generic1's Synapse listener .*binds 127\.0\.0\.1:8083/);
  });

  test('address families: 0.0.0.0 and ::1 do not clash, :: clashes with everything', () => {
    // split-main: main binds 127.0.0.1:8008 and 127.0.0.1:8448.
    assert.doesNotThrow(() => importFixture('split-main', '1.92', [], { listen: { host: '::1', port: 8448 } }));
    assert.throws(() => importFixture('split-main', '1.92', [], { listen: { host: '::', port: 8448 } }), /binds 127\.0\.0\.1:8448/);
  });

  test('every TCP listener counts: metrics (default bind 0.0.0.0), manhole, tls: true, of workers too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-sockets-'));
    try {
      writeFileSync(join(dir, 'homeserver.yaml'), [
        'server_name: example.com',
        'enable_metrics: true',
        'listeners:',
        '  - {port: 8008, type: http, x_forwarded: true, bind_addresses: [127.0.0.1], resources: [{names: [client]}]}',
        '  - {port: 8448, type: http, tls: true, bind_addresses: [0.0.0.0], resources: [{names: [federation]}]}',
        '  - {port: 9000, type: metrics, bind_addresses: ["::1", 127.0.0.1]}', // docs/metrics-howto.md
        '  - {port: 9100, type: metrics}',
        '  - {port: 9001, type: manhole, bind_addresses: [127.0.0.1]}',
        'instance_map:',
        '  main: {host: 127.0.0.1, port: 9093}',
        '',
      ].join('\n'));
      writeFileSync(join(dir, 'w1.yaml'), 'worker_app: synapse.app.generic_worker\nworker_name: w1\nworker_listeners:\n' +
        '  - {port: 8083, type: http, x_forwarded: true, bind_addresses: [127.0.0.1], resources: [{names: [client]}]}\n  - {port: 9101, type: metrics, bind_addresses: [127.0.0.1]}\n');
      const run = (listen: string, admin = '127.0.0.1:9500') => {
        const [lh, lp] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
        const [ah, ap] = [admin.slice(0, admin.lastIndexOf(':')), Number(admin.slice(admin.lastIndexOf(':') + 1))];
        return () => importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers: [join(dir, 'w1.yaml')] }, { listen: { host: lh, port: lp }, admin: { host: ah, port: ap } });
      };
      assert.throws(run('127.0.0.1:8090', '127.0.0.1:9000'), /admin listener 127\.0\.0\.1:9000 \(--admin-listen\) is the address of main's Synapse metrics listener \(.*homeserver\.yaml:6, binds 127\.0\.0\.1:9000\)/);
      assert.throws(run('0.0.0.0:8448'), /public listener 0\.0\.0\.0:8448 .* main's Synapse tls: true listener \(.*homeserver\.yaml:5, binds 0\.0\.0\.0:8448\)/);
      assert.throws(run('10.0.0.2:9100'), /main's Synapse metrics listener \(.*homeserver\.yaml:7, binds 0\.0\.0\.0:9100\)/);
      assert.doesNotThrow(run('::1:9100'), 'a metrics listener with no bind_addresses binds 0.0.0.0 only (it does not support IPv6)');
      assert.throws(run('127.0.0.1:9001'), /main's Synapse manhole listener/);
      assert.throws(run('127.0.0.1:8090', 'localhost:9101'), /w1's Synapse metrics listener \(.*w1\.yaml:5/);
      assert.doesNotThrow(() => importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers: [join(dir, 'w1.yaml')] },
        { listen: { host: '0.0.0.0', port: 9000 }, upstreamHost: 'synapse' }), "Synapse in another container: its sockets are that host's");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('one listener for client and federation: no extra route', () => {
    const imp = importFixture('docs-example', '1.92', [], { listen });
    assert.equal(imp.result.plan.routes.some((r) => r.name.startsWith('main-')), false);
  });
});

describe('TLS listeners', () => {
  test('tls: true listeners are skipped with a warning naming them; a plain listener of the process is used instead', () => {
    const imp = importFixture('tls', '1.92');
    const urls = (u: string) => imp.table.upstreams.get(u)!.servers.map((s) => `${s.name}=${s.url}`);
    assert.deepEqual(urls('main'), ['main=http://127.0.0.1:8008']);
    assert.deepEqual(urls('client'), ['w2=http://127.0.0.1:8085']);
    assert.equal(/url: https:/.test(imp.result.yaml), false);
    const tls = imp.result.plan.warnings.filter((w) => w.code === 'tls_listener').map((w) => `${w.file!.split('/').at(-1)}:${w.line} ${w.message}`);
    assert.equal(tls.length, 3);
    assert.match(tls[0]!, /^homeserver\.yaml:11 main's listener https:\/\/127\.0\.0\.1:8448 has tls: true.*skipped; the gateway uses 'federation' on http:\/\/127\.0\.0\.1:8008 \(.*homeserver\.yaml:6\) instead$/);
    assert.match(tls[1]!, /^w1\.yaml:4 w1's listener https:\/\/127\.0\.0\.1:8083 .*no plain listener of w1 serves 'client', so w1 gets no route for it/);
    assert.match(tls[2]!, /^w2\.yaml:4 w2's listener .*:8084 .*uses 'client' on http:\/\/127\.0\.0\.1:8085/);
  });

  test('a main process reachable only over TLS is an error naming the listener', () => {
    assert.throws(() => importFixture('tls-main', '1.92'), (e: unknown) => e instanceof SynapseConfigError &&
      /tls-main\/homeserver\.yaml:4: the main process serves client\/federation only on a tls: true listener \(https:\/\/127\.0\.0\.1:8448\)/.test(e.message));
  });
});

describe('media repository', () => {
  test("a 'media' listener counts only where Synapse loads the media repository (merged enable_media_repo, worker_app)", () => {
    const imp = importFixture('media-disabled', '1.92');
    assert.deepEqual(imp.table.upstreams.get('media')!.servers.map((s) => s.name).sort(), ['generic2', 'media1']);
    const w = imp.result.plan.warnings.filter((x) => x.code === 'media_repo_disabled');
    assert.deepEqual(w.map((x) => `${x.file!.split('/').at(-1)}:${x.line}`), ['generic1.yaml:7']);
    assert.match(w[0]!.message, /generic1 is left out of the media route/);
    assert.equal(imp.decide(SAMPLES.media!).upstream, 'media');
    assert.deepEqual(imp.table.upstreams.get('client')!.servers.map((s) => s.name), ['generic1', 'generic2']);
  });
});

describe('--upstream-host', () => {
  test('applies to every TCP server URL, stream writers included', () => {
    const imp = importFixture('upstream-host', '1.92', [], { upstreamHost: 'localhost' });
    const urls = [...imp.table.upstreams.values()].flatMap((u) => u.servers.map((s) => `${u.name}:${s.url}`));
    assert.ok(urls.includes('writer_generic1:http://localhost:8083'), urls.join(' '));
    assert.deepEqual(urls.filter((u) => !u.includes('//localhost:')), []);
  });
});

describe('--upstream-host IPv6', () => {
  test('an IPv6 literal is bracketed in server URLs', () => {
    const imp = importFixture('upstream-host', '1.92', [], { upstreamHost: '::1' });
    const urls = [...imp.table.upstreams.values()].flatMap((u) => u.servers.map((s) => s.url)).filter((u) => u.startsWith('http'));
    assert.ok(urls.length > 0);
    assert.deepEqual(urls.filter((u) => !/^http:\/\/\[::1\]:\d+$/.test(u)), []);
    assert.equal(withHost('http://127.0.0.1:8008', '[fd00::5]'), 'http://[fd00::5]:8008');
  });
});

describe('YAML 1.1 (PyYAML)', () => {
  test('yes/no/on/off are booleans, y is a string; merge keys work; positions are kept', () => {
    const imp = importFixture('yaml11', '1.92');
    const urls = (u: string) => imp.table.upstreams.get(u)!.servers.map((s) => `${s.name}=${s.url}`);
    assert.deepEqual(urls('main'), ['main=http://127.0.0.1:8008']);
    assert.deepEqual(urls('client'), ['w1=http://127.0.0.1:8085']);
    const tls = imp.result.plan.warnings.filter((w) => w.code === 'tls_listener').map((w) => `${w.file!.split('/').at(-1)}:${w.line}`);
    assert.deepEqual(tls, ['homeserver.yaml:12', 'w1.yaml:4', 'w1.yaml:11']);
    // enable_media_repo: off disables the media repo for w1 (a generic worker).
    assert.deepEqual(imp.result.plan.warnings.filter((w) => w.code === 'media_repo_disabled').map((w) => `${w.file!.split('/').at(-1)}:${w.line}`), ['w1.yaml:14']);
    assert.equal(imp.table.upstreams.has('media'), false);
  });

  test('syntax errors still point at file:line:column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-yaml11-'));
    try {
      const file = join(dir, 'homeserver.yaml');
      writeFileSync(file, 'server_name: example.com\nlisteners:\n  - port: 8008\n   type: http\n');
      assert.throws(() => readDeployment({ configs: [file], workers: [] }), (e: unknown) => e instanceof ConfigError && e.issues[0]!.file === file && e.issues[0]!.line === 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config directories', () => {
  test('--config DIR reads its *.yaml files in sorted order, as Synapse\'s --config-path does', () => {
    const dir = join(FIXTURES, 'confdir', 'conf.d');
    const result = importSynapse({ configs: [dir], workers: [] }, { listen: GATEWAY_LISTEN });
    assert.deepEqual(result.deployment.shared.files.map((f) => f.slice(dir.length + 1)), ['00-homeserver.yaml', '10-workers.yaml', '20-listeners.yaml']);
    assert.deepEqual(result.plan.upstreams.find((u) => u.name === 'main')!.servers.map((s) => s.url), ['http://127.0.0.1:8010']);
    assert.ok('main' in result.deployment.shared.instanceMap);
    assert.match(result.yaml, /# Shared config: .*00-homeserver\.yaml, .*10-workers\.yaml, .*20-listeners\.yaml\n/);
  });
});

describe('config directories: what Synapse ignores', () => {
  test('a dangling symlink, a subdirectory, a file that is not a mapping and an empty directory are skipped with a warning, as find_config_files and read_config_files do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-confd-'));
    try {
      const conf = join(dir, 'conf.d');
      mkdirSync(conf);
      mkdirSync(join(conf, 'sub.yaml'));
      mkdirSync(join(dir, 'empty.d'));
      symlinkSync(join(dir, 'gone.yaml'), join(conf, '05-dangling.yaml'));
      writeFileSync(join(conf, '00-hs.yaml'), 'server_name: example.com\nlisteners:\n  - {port: 8008, x_forwarded: true, bind_addresses: [127.0.0.1], resources: [{names: [client]}]}\n');
      writeFileSync(join(conf, '10-list.yaml'), '- a\n- b\n');
      writeFileSync(join(conf, '20-empty.yaml'), '# nothing here\n');
      writeFileSync(join(conf, 'notes.yml'), 'server_name: example.org\n');
      const result = importSynapse({ configs: [conf, join(dir, 'empty.d')], workers: [] }, { listen: GATEWAY_LISTEN });
      assert.deepEqual(result.deployment.shared.files.map((f) => f.split('/').at(-1)), ['00-hs.yaml']);
      const skipped = result.plan.warnings.filter((w) => w.code === 'skipped_file').map((w) => `${w.file!.slice(dir.length + 1)}: ${w.message}`);
      assert.deepEqual(skipped.map((m) => m.split(':')[0]), ['conf.d/05-dangling.yaml', 'conf.d/notes.yml', 'conf.d/sub.yaml', 'empty.d', 'conf.d/10-list.yaml', 'conf.d/20-empty.yaml']);
      assert.match(skipped[0]!, /not a file.*skipped/);
      assert.match(skipped[1]!, /does not end in '\.yaml'.*skipped/);
      assert.match(skipped[3]!, /no \*\.yaml files/);
      assert.match(skipped[4]!, /not a mapping.*skipped/);
      assert.match(result.yaml, /# Shared config: \S*00-hs\.yaml\n/);
      assert.throws(() => importSynapse({ configs: [join(dir, 'empty.d')], workers: [] }), (e: unknown) => e instanceof SynapseConfigError && /no shared config/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config errors', () => {
  /** Writes `files` to a fresh directory and reads them as --config files, in order. */
  function readConfigs(files: Record<string, string>): () => unknown {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-err-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return () => {
      try {
        return readDeployment({ configs: Object.keys(files).map((f) => join(dir, f)), workers: [] });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }

  test('stream_writers or instance_map that is not a mapping is reported at its key, in the file that sets it', () => {
    const base = 'server_name: example.com\nlisteners:\n  - port: 8008\n    resources: [{names: [client]}]\n';
    assert.throws(readConfigs({ 'homeserver.yaml': base, 'extra.yaml': '# extra\nstream_writers: typing\n' }),
      (e: unknown) => e instanceof SynapseConfigError && /extra\.yaml:2:17: stream_writers: expected a mapping of stream name to writer\(s\), got the string 'typing'$/.test(e.message));
    assert.throws(readConfigs({ 'homeserver.yaml': `${base}instance_map:\n  - main\n` }),
      (e: unknown) => e instanceof SynapseConfigError && /homeserver\.yaml:6:3: instance_map: expected a mapping .*, got a list$/.test(e.message));
  });

  test('several writers for a single-writer stream is an error at its stream_writers entry, as Synapse refuses to start', () => {
    const base = 'server_name: example.com\ninstance_map:\n  main: {host: 127.0.0.1, port: 9093}\n  w1: {host: 127.0.0.1, port: 9101}\n  w2: {host: 127.0.0.1, port: 9102}\nstream_writers:\n';
    for (const stream of ['typing', 'to_device', 'account_data', 'presence', 'push_rules']) {
      assert.throws(readConfigs({ 'homeserver.yaml': `${base}  receipts: [w1, w2]\n  ${stream}: [w1, w2]\n` }), (e: unknown) => e instanceof SynapseConfigError &&
        new RegExp(`homeserver\\.yaml:8:${stream.length + 5}: stream_writers\\.${stream} names 2 writers \\(w1, w2\\), but only one process may write`).test(e.message), stream);
    }
    assert.doesNotThrow(readConfigs({ 'homeserver.yaml': `${base}  receipts: [w1, w2]\n  events: [w1, w2]\n  typing: w1\n` }), 'receipts and events may have several writers');
    for (const stream of ['typing', 'presence']) {
      assert.throws(readConfigs({ 'homeserver.yaml': `${base}  ${stream}: []\n` }), (e: unknown) => e instanceof SynapseConfigError &&
        new RegExp(`homeserver\\.yaml:7:${stream.length + 5}: stream_writers\\.${stream} names no writer, but exactly one process must write`).test(e.message), `${stream}: []`);
    }
    for (const stream of ['events', 'receipts']) {
      assert.throws(readConfigs({ 'homeserver.yaml': `${base}  ${stream}: []\n` }), (e: unknown) => e instanceof SynapseConfigError &&
        new RegExp(`stream_writers\\.${stream} names no writer, but at least one process must write`).test(e.message), `${stream}: []`);
    }
  });
});

describe('instance_map', () => {
  test("no 'main' entry is flagged whenever there are workers, stream writers or not (every worker needs it)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-im-'));
    try {
      writeFileSync(join(dir, 'homeserver.yaml'), 'server_name: example.com\nlisteners:\n  - port: 8008\n    x_forwarded: true\n    bind_addresses: [127.0.0.1]\n    resources: [{names: [client, federation]}]\n');
      writeFileSync(join(dir, 'w1.yaml'), 'worker_app: synapse.app.generic_worker\nworker_name: w1\nworker_listeners:\n  - port: 8083\n    x_forwarded: true\n    bind_addresses: [127.0.0.1]\n    resources: [{names: [client]}]\n');
      const codes = (workers: string[]) => importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers }, { listen: GATEWAY_LISTEN }).plan.warnings.map((w) => w.code);
      assert.deepEqual(codes([join(dir, 'w1.yaml')]), ['main_not_in_instance_map']);
      assert.deepEqual(codes([]), [], 'a lone main process needs no instance_map');
      writeFileSync(join(dir, 'extra.yaml'), '# extra\ninstance_map:\n  w1: {host: 127.0.0.1, port: 9101}\nstream_writers:\n  events: [main]\n  typing: w2\n');
      const at = importSynapse({ configs: [join(dir, 'homeserver.yaml'), join(dir, 'extra.yaml')], workers: [join(dir, 'w1.yaml')] }, { listen: GATEWAY_LISTEN }).plan.warnings
        .filter((w) => w.code.endsWith('_in_instance_map')).map((w) => `${w.code} ${w.file!.split('/').at(-1)}:${w.line}`);
      assert.deepEqual(at, ['writer_not_in_instance_map extra.yaml:6', 'main_not_in_instance_map extra.yaml:3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('x_forwarded', () => {
  test('a routed listener without x_forwarded: true is flagged at its line; unix sockets (x_forwarded by default) and unrouted listeners are not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-xff-'));
    try {
      writeFileSync(join(dir, 'homeserver.yaml'), [
        'server_name: example.com',
        'listeners:',
        '  - port: 8008',
        '    x_forwarded: yes', // YAML 1.1, as PyYAML reads it: true
        '    bind_addresses: [127.0.0.1]',
        '    resources: [{names: [client, federation]}]',
        '  - port: 9093',
        '    bind_addresses: [127.0.0.1]',
        '    resources: [{names: [replication]}]',
        'instance_map:',
        '  main: {host: 127.0.0.1, port: 9093}',
        '',
      ].join('\n'));
      const worker = (name: string, listener: string) => {
        writeFileSync(join(dir, `${name}.yaml`), `worker_app: synapse.app.generic_worker\nworker_name: ${name}\nworker_listeners:\n${listener}    resources: [{names: [client]}]\n`);
        return join(dir, `${name}.yaml`);
      };
      const plain = worker('plain1', '  - port: 8083\n    bind_addresses: [127.0.0.1]\n');
      const sock = worker('sock1', '  - path: /run/synapse/sock1.sock\n');
      const set = worker('set1', '  - port: 8085\n    x_forwarded: true\n    bind_addresses: [127.0.0.1]\n');
      const plan = importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers: [plain, sock, set] }, { listen: GATEWAY_LISTEN }).plan;
      const xff = plan.warnings.filter((w) => w.code === 'no_x_forwarded');
      assert.deepEqual(xff.map((w) => `${w.file!.split('/').at(-1)}:${w.line}`), ['plain1.yaml:4']);
      assert.match(xff[0]!.message, /plain1's listener http:\/\/127\.0\.0\.1:8083 .*x_forwarded: true/);
      assert.ok(plan.upstreams.some((u) => u.servers.some((s) => s.name === 'plain1')), 'the worker is still routed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('x_forwarded on unix sockets', () => {
  test('defaults to true on a socket, but an explicit x_forwarded: false is honoured (synapse/config/server.py)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-synapse-uxff-'));
    try {
      const hs = (xff: string) => {
        writeFileSync(join(dir, 'homeserver.yaml'), `server_name: example.com\nlisteners:\n  - path: /run/synapse/main.sock\n${xff}    resources: [{names: [client, federation]}]\n`);
        return importSynapse({ configs: [join(dir, 'homeserver.yaml')], workers: [] }, { listen: GATEWAY_LISTEN }).plan.warnings.filter((w) => w.code === 'no_x_forwarded').map((w) => w.line);
      };
      assert.deepEqual(hs(''), []);
      assert.deepEqual(hs('    x_forwarded: false\n'), [3]);
      assert.deepEqual(hs('    x_forwarded: off\n'), [3], 'YAML 1.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('warnings', () => {
  test('replication exposed, writer missing from instance_map, unknown writer, route with no server', () => {
    const imp = importFixture('warnings', '1.92', ['worker_b=sync']);
    const got = imp.result.plan.warnings.map((w) => `${w.code}${w.message.includes('typing1') ? ':typing1' : ''}${w.message.includes('ghost1') ? ':ghost1' : ''}${w.message.includes('worker_b') ? ':worker_b' : ''}`).sort();
    assert.deepEqual(got, [
      'replication_exposed',
      'route_without_server:typing1',
      'route_without_server:worker_b',
      'unknown_writer:ghost1',
      'writer_not_in_instance_map:ghost1',
      'writer_not_in_instance_map:typing1',
    ]);
    const exposed = imp.result.plan.warnings.find((w) => w.code === 'replication_exposed')!;
    assert.match(exposed.file ?? '', /warnings\/homeserver\.yaml$/);
    assert.equal(exposed.line, 10);
    assert.match(exposed.message, /^security: .*0\.0\.0\.0/);
    assert.match(exposed.message, /unencrypted and, with no worker_replication_secret set, unauthenticated/);
    // No route for typing (its writer has no client listener) or receipts (main writes them).
    assert.equal(imp.decide(SAMPLES.typing!).upstream, 'main');
    assert.equal(imp.result.plan.routes.some((r) => r.name === 'stream-receipts'), false);
    for (const w of imp.result.plan.warnings) assert.ok(imp.result.yaml.includes(`[${w.code}]`), 'warnings are repeated in the file header');
  });
});
