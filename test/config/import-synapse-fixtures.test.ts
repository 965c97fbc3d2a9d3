/**
 * import-synapse on three Synapse-format deployments (issue 4 point 5): the documentation's
 * example, a large deployment, and a legacy worker_app deployment. For each, and for several
 * Synapse releases, the generated routes.yaml must pass `gateway check`'s loader, compile, and send
 * a representative request of EVERY catalogue group to the expected upstream and server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GROUP_NAMES, LATEST_SYNAPSE_VERSION } from '../../routing/catalogue/index.ts';
import { importFixture, ROOM_ID, SAMPLES, synapseShardIndex, type Imported } from './fixtures/synapse/helpers.ts';

const VERSIONS = [...new Set(['1.92', '1.122', LATEST_SYNAPSE_VERSION])];
const LARGE_ROLES = ['initial_sync1=initial_sync', 'initial_sync2=initial_sync', 'client_reader2=client,sso'];

/** Asserts the upstream of every group's sample, and that the table knows every group. */
function assertGroups(imp: Imported, expected: (group: string) => string): void {
  for (const g of GROUP_NAMES) {
    const sample = SAMPLES[g];
    assert.ok(sample, `no sample request for catalogue group '${g}'`);
    const d = imp.decide(sample);
    assert.equal(d.upstream, expected(g), `Synapse ${imp.version}, group ${g}: ${sample.method} ${sample.path} went to ${d.upstream} (route ${d.route})`);
    assert.ok(d.server !== null, `group ${g}: no server`);
  }
}

/** A writer-less stream group is served by generic workers only where the docs list it for them. */
function genericOr(imp: Imported, group: string, pool: string): string {
  return imp.hasGeneric(group) ? pool : 'main';
}

describe('docs example (docs/systemd-with-workers)', () => {
  for (const v of VERSIONS) {
    test(`Synapse ${v}: every group`, () => {
      const imp = importFixture('docs-example', v);
      const table: Record<string, string> = {
        sync: 'sync', federation: 'federation_reader', federation_transaction: 'federation_inbound',
        client: 'client', encryption: 'client', registration: 'client', event_sending: 'client', pagination: 'client',
        user_directory: 'client', push_rules: 'client', media: 'media', media_admin: 'media', quarantined_media_changes: 'media',
        sliding_sync: imp.has('sliding_sync') ? 'sync' : 'main',
        delayed_events: imp.has('delayed_events') ? 'client' : 'main',
        admin_api: imp.has('admin_api') ? 'client' : 'main',
        account_data: genericOr(imp, 'account_data', 'client'),
        receipts: genericOr(imp, 'receipts', 'client'),
        presence: genericOr(imp, 'presence', 'client'),
        // delete_devices: the device_lists writer's endpoint, listed for generic workers too in some releases.
        device_lists: imp.listedIn(['client', 'encryption'], SAMPLES.device_lists!) ? 'client' : 'main',
      };
      // Stream writers are main (the default), SSO has no dedicated worker, MSC3861 admin needs MAS.
      assertGroups(imp, (g) => table[g] ?? 'main');
      assert.equal(imp.decide(SAMPLES.event_sending!).policy, 'consistent_hash');
      assert.equal(imp.decide(SAMPLES.event_sending!).key, ROOM_ID);
    });
  }

  test('version differences: keys/upload trailing slash (1.127) and GET-only account data (1.122)', () => {
    const upload = { method: 'POST', path: '/_matrix/client/v3/keys/upload', headers: { authorization: 'Bearer x' } };
    const putData = { method: 'PUT', path: '/_matrix/client/v3/user/@alice:example.org/account_data/m.direct' };
    const old = importFixture('docs-example', '1.92');
    assert.equal(old.decide(upload).upstream, 'main', '1.92 docs list keys/upload/ with a slash that never matches');
    assert.equal(old.decide(putData).upstream, 'client');
    const latest = importFixture('docs-example', LATEST_SYNAPSE_VERSION);
    assert.equal(latest.decide(upload).upstream, latest.atLeast('1.127') ? 'client' : 'main');
    assert.equal(latest.decide(putData).upstream, latest.atLeast('1.122') ? 'main' : 'client');
  });

  test('processes without an HTTP listener are listed, not routed; the exposed replication listener is flagged', () => {
    const { result } = importFixture('docs-example', LATEST_SYNAPSE_VERSION);
    const unrouted = result.plan.unrouted.map((p) => p.name).sort();
    assert.deepEqual(unrouted, ['background_worker', 'event_persister1', 'federation_sender1', 'pusher_worker1']);
    for (const n of unrouted) assert.match(result.yaml, new RegExp(`^#\\s+${n}: `, 'm'));
    const codes = result.plan.warnings.map((w) => w.code);
    assert.deepEqual(codes, ['replication_exposed'], 'event_persister.yaml binds :: and 0.0.0.0 by default');
    assert.match(result.yaml, /^synapse_version: "\d+\.\d+"$/m);
  });
});

describe('large deployment (docker-style names, every stream writer)', () => {
  for (const v of VERSIONS) {
    test(`Synapse ${v}: every group`, () => {
      const imp = importFixture('large', v, LARGE_ROLES);
      const writer = 'writer_account_data_presence_receipts_to_device_typing1';
      const table: Record<string, string> = {
        sync: 'sync', sliding_sync: imp.has('sliding_sync') ? 'sync' : 'main',
        federation: 'federation_reader', federation_transaction: 'federation_inbound',
        client: 'client', encryption: 'client', registration: 'client', pagination: 'client',
        event_sending: 'event_persisters', user_directory: 'user_dir',
        account_data: writer, receipts: writer, presence: writer, typing: writer, to_device: writer,
        push_rules: imp.has('push_rules_writer') ? 'writer_push_rules1' : 'client',
        push_rules_writer: imp.has('push_rules_writer') ? 'writer_push_rules1' : 'main',
        device_lists: imp.has('device_lists') ? 'stream_device_lists' : 'main',
        sso: 'sso', sso_oidc: 'sso', sso_saml: 'sso', sso_cas: 'sso',
        media: 'media', media_admin: 'media', quarantined_media_changes: 'media',
        delayed_events: imp.has('delayed_events') ? 'client' : 'main',
        admin_api: imp.has('admin_api') ? 'client' : 'main',
      };
      assertGroups(imp, (g) => table[g] ?? 'main');
    });
  }

  test('sync split: no since, empty since, full_state and /initialSync go to the initial-sync pool', () => {
    const imp = importFixture('large', LATEST_SYNAPSE_VERSION, LARGE_ROLES);
    const auth = SAMPLES.sync!.headers;
    const sync = (query: string, path = '/_matrix/client/v3/sync') => imp.decide({ method: 'GET', path, query, headers: auth });
    assert.equal(sync('').upstream, 'initial_sync');
    assert.equal(sync('since=').upstream, 'initial_sync');
    assert.equal(sync('since=s1&full_state=true').upstream, 'initial_sync');
    assert.equal(sync('', '/_matrix/client/v3/initialSync').upstream, 'initial_sync');
    assert.equal(sync('', `/_matrix/client/v3/rooms/${encodeURIComponent(ROOM_ID)}/initialSync`).upstream, 'initial_sync');
    const d = sync('since=s1');
    assert.equal(d.upstream, 'sync');
    assert.equal(d.policy, 'consistent_hash');
    assert.equal(sync('since=s2').server, d.server, 'one user stays on one sync worker');
  });

  test('event sending reaches the persister Synapse itself picks (synapse_shard, stream_writers.events order)', () => {
    const imp = importFixture('large', LATEST_SYNAPSE_VERSION, LARGE_ROLES);
    for (const room of [ROOM_ID, '!b:example.org', '!c9:matrix.org', '!zz:x.y', '!q:example.org']) {
      const d = imp.decide({ method: 'PUT', path: `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t`, headers: {} });
      assert.equal(d.policy, 'synapse_shard');
      assert.equal(d.server, `event_persister${synapseShardIndex(room, 2) + 1}`, room);
    }
  });

  test('unix-socket listener, sanitized docker names, --role sso pins one process', () => {
    const imp = importFixture('large', LATEST_SYNAPSE_VERSION, LARGE_ROLES);
    const sync = imp.table.upstreams.get('sync')!;
    assert.deepEqual(sync.servers.map((s) => s.url), ['http://127.0.0.1:8111', 'http://127.0.0.1:8112', 'unix:/run/synapse/synchrotron3.sock']);
    assert.deepEqual(imp.table.upstreams.get('sso')!.servers.map((s) => s.name), ['client_reader2']);
    assert.equal(imp.result.plan.warnings.length, 0, imp.result.plan.warnings.map((w) => w.message).join('\n'));
    assert.deepEqual(imp.result.plan.unrouted.map((p) => p.name).sort(),
      ['appservice1', 'background_worker1', 'federation_sender1', 'federation_sender2', 'pusher1', 'pusher2']);
  });

  test('without --role the initial-sync workers are generic and initial syncs go to the sync pool', () => {
    const imp = importFixture('large', LATEST_SYNAPSE_VERSION);
    assert.equal(imp.table.upstreams.has('initial_sync'), false);
    assert.equal(imp.decide({ method: 'GET', path: '/_matrix/client/v3/sync', headers: SAMPLES.sync!.headers }).upstream, 'sync');
    assert.equal(imp.decide(SAMPLES.sso!).upstream, 'main');
  });
});

describe('legacy worker_app deployment', () => {
  for (const v of VERSIONS) {
    test(`Synapse ${v}: every group`, () => {
      const imp = importFixture('legacy', v);
      const table: Record<string, string> = {
        sync: 'sync', sliding_sync: imp.has('sliding_sync') ? 'sync' : 'main',
        federation: 'federation_reader', federation_transaction: 'federation_inbound',
        client: 'client', encryption: 'client', registration: 'client', pagination: 'client', push_rules: 'client',
        event_sending: 'event_creator', user_directory: 'user_dir', media: 'media', media_admin: 'media', quarantined_media_changes: 'media',
        account_data: genericOr(imp, 'account_data', 'client'),
        receipts: genericOr(imp, 'receipts', 'client'),
        presence: genericOr(imp, 'presence', 'client'),
        delayed_events: imp.has('delayed_events') ? 'client' : 'main',
        admin_api: imp.has('admin_api') ? 'client' : 'main',
        device_lists: imp.listedIn(['client', 'encryption'], SAMPLES.device_lists!) ? 'client' : 'main',
      };
      assertGroups(imp, (g) => table[g] ?? 'main');
      assert.equal(imp.decide(SAMPLES.event_sending!).policy, 'consistent_hash');
    });
  }

  test('legacy apps map to roles; federation_reader also takes inbound /send/; frontend_proxy joins the client pool', () => {
    const imp = importFixture('legacy', LATEST_SYNAPSE_VERSION);
    const names = (u: string) => imp.table.upstreams.get(u)!.servers.map((s) => s.name);
    assert.deepEqual(names('sync'), ['synchrotron1', 'synchrotron2']);
    assert.deepEqual(names('client'), ['client_reader1', 'synapse.app.frontend_proxy'], 'no worker_name: Synapse names it after worker_app');
    assert.deepEqual(names('federation_inbound'), ['federation_reader1']);
    assert.deepEqual(names('event_creator'), ['event_creator1', 'event_creator2']);
    assert.deepEqual(names('media'), ['media1']);
    assert.deepEqual(names('user_dir'), ['user_dir1']);
    assert.deepEqual(imp.result.plan.warnings.map((w) => w.code).filter((c) => c !== 'no_x_forwarded').sort(), ['missing_worker_name', 'skipped_file']);
    // These old worker files set no x_forwarded: every routed worker listener is flagged (main sets it).
    const flagged = imp.result.plan.warnings.filter((w) => w.code === 'no_x_forwarded').map((w) => w.message.split("'s listener")[0]).sort();
    const routed = [...new Set([...imp.table.upstreams.values()].flatMap((u) => u.servers.map((s) => s.name)))].filter((n) => n !== 'main').sort();
    assert.deepEqual(flagged, routed);
  });
});
