/**
 * Facts of the versioned catalogue (issue 4 point 2): each checked against the release whose
 * docs/workers.md changed it. Matching is done with the catalogue's own regexes, so a fact is
 * tested the way the router will use it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogueChanges, catalogueFor, SYNAPSE_VERSIONS, type CatalogueEntry } from '../../routing/catalogue/index.ts';

/** Entries of release `v` whose regex matches `path` (optionally only those allowing `method`). */
function matching(v: string, path: string, method?: string): CatalogueEntry[] {
  return catalogueFor(v).entries.filter(
    (e) => new RegExp(e.regex).test(path) && (method === undefined || e.methods === undefined || e.methods.includes(method)),
  );
}
const groupsFor = (v: string, path: string, method?: string): string[] => [...new Set(matching(v, path, method).map((e) => e.group))];

test('the catalogue covers every release from 1.67 to 1.157', () => {
  assert.equal(SYNAPSE_VERSIONS[0], '1.67');
  assert.equal(SYNAPSE_VERSIONS.at(-1), '1.157');
  assert.equal(SYNAPSE_VERSIONS.length, 91);
});

test('keys/upload: a trailing slash that never matched until 1.127', () => {
  const path = '/_matrix/client/v3/keys/upload';
  for (const v of ['1.67', '1.92', '1.126']) {
    assert.ok(catalogueFor(v).entries.some((e) => e.regex === '^/_matrix/client/(r0|v3|unstable)/keys/upload/'), v);
    assert.deepEqual(groupsFor(v, path), [], `${v}: keys/upload goes to main`);
  }
  for (const v of ['1.127', '1.134']) assert.deepEqual(groupsFor(v, path), ['encryption'], v);
  assert.deepEqual(groupsFor('1.135', path), ['encryption', 'device_lists']);
  assert.deepEqual(groupsFor('1.157', `${path}/DEVICEID`), ['encryption', 'device_lists'], '1.135 dropped the `$`');
});

test('account data and presence: any method on workers until 1.121, GET only from 1.122', () => {
  const paths = ['/_matrix/client/v3/user/@a:b/account_data/m.direct', '/_matrix/client/v3/user/@a:b/rooms/!r:b/tags', '/_matrix/client/v3/presence/@a:b/status'];
  for (const path of paths) {
    const generic = (v: string): CatalogueEntry[] => matching(v, path).filter((e) => e.section.startsWith('synapse.app.generic_worker'));
    assert.deepEqual(generic('1.121').map((e) => e.methods), [undefined], path);
    assert.deepEqual(generic('1.122').map((e) => e.methods), [['GET']], path);
    const writer = matching('1.122', path).filter((e) => e.section.startsWith('Stream writers'));
    assert.deepEqual(writer.map((e) => e.methods), [undefined], 'the stream writer takes every method');
    assert.equal(groupsFor('1.157', path, 'PUT').length, 1, 'PUT reaches only the writer entry');
  }
});

test('receipts: generic workers until 1.121, only the receipts stream writer from 1.122', () => {
  const path = '/_matrix/client/v3/rooms/!r:b/receipt/m.read/$e';
  assert.deepEqual(matching('1.121', path).map((e) => e.section), ['synapse.app.generic_worker > Receipts requests', 'Stream writers > The receipts stream']);
  assert.deepEqual(matching('1.122', path).map((e) => e.section), ['Stream writers > The receipts stream']);
});

test('authenticated media prefixes arrive in 1.111', () => {
  for (const path of ['/_matrix/client/v1/media/download/s/m', '/_matrix/federation/v1/media/download/m']) {
    assert.deepEqual(groupsFor('1.110', path), [], path);
    assert.ok(groupsFor('1.111', path).includes('media'), path);
  }
  const media = catalogueFor('1.111').group('media') ?? [];
  assert.deepEqual(media.map((e) => [e.regex, e.docText]), [
    ['^/_matrix/media/', '/_matrix/media/'],
    ['^/_matrix/client/v1/media/', '/_matrix/client/v1/media/'],
    ['^/_matrix/federation/v1/media/', '/_matrix/federation/v1/media/'],
  ]);
});

test('1.67 lacks endpoints that later releases route to workers', () => {
  const later: ReadonlyArray<[string, string, string]> = [
    ['/_matrix/client/v3/capabilities', '1.82', 'client'],
    ['/_matrix/client/v3/user/@a:b/filter/1', '1.79', 'client'],
    ['/_matrix/client/v3/directory/room/%23a:b', '1.82', 'client'],
    ['/_matrix/client/v3/knock/!r:b', '1.79', 'event_sending'],
    ['/_matrix/client/v3/password_policy', '1.81', 'registration'],
    ['/_matrix/client/v3/register/available', '1.80', 'registration'],
    ['/_matrix/client/v1/rooms/!r:b/relations/$e', '1.70', 'client'],
  ];
  for (const [path, since, group] of later) {
    assert.deepEqual(groupsFor('1.67', path), [], `1.67: ${path}`);
    const before = SYNAPSE_VERSIONS[SYNAPSE_VERSIONS.indexOf(since) - 1] as string;
    assert.deepEqual(groupsFor(before, path), [], `${before}: ${path}`);
    assert.deepEqual(groupsFor(since, path), [group], `${since}: ${path}`);
    assert.deepEqual(groupsFor('1.157', path), [group], `1.157: ${path}`);
  }
});

test('push_rules and device_lists gain stream writers in 1.105 and 1.135', () => {
  const rules = '/_matrix/client/v3/pushrules/global/override/x';
  assert.deepEqual(groupsFor('1.104', rules), ['push_rules']);
  assert.deepEqual(groupsFor('1.105', rules), ['push_rules', 'push_rules_writer']);
  assert.deepEqual(groupsFor('1.105', rules, 'PUT'), ['push_rules_writer'], 'generic workers serve push rules for GET only');
  const devices = '/_matrix/client/v3/delete_devices';
  assert.deepEqual(groupsFor('1.134', devices), []);
  assert.deepEqual(groupsFor('1.135', devices), ['client', 'device_lists']);
  assert.equal(catalogueFor('1.134').group('device_lists')?.length, 0);
});

test("1.135's docs typo is kept as docText and corrected in the regex", () => {
  const typo = catalogueFor('1.135').entries.filter((e) => e.docText !== undefined && e.regex.includes('device_signing'));
  assert.equal(typo.length, 2, 'generic worker and device_lists stream');
  for (const e of typo) {
    assert.throws(() => new RegExp(e.docText as string), SyntaxError);
    assert.ok(new RegExp(e.regex).test('/_matrix/client/v3/keys/device_signing/upload'));
  }
  assert.ok(catalogueFor('1.136').entries.every((e) => e.docText === undefined || !e.regex.includes('device_signing')));
});

test('catalogueChanges reports what a release changed', () => {
  const c = catalogueChanges('1.126', '1.127');
  assert.deepEqual(c.removed.map((e) => e.regex), ['^/_matrix/client/(r0|v3|unstable)/keys/upload/']);
  assert.deepEqual(c.added.map((e) => e.regex), ['^/_matrix/client/(r0|v3|unstable)/keys/upload$']);
  const back = catalogueChanges('1.127', '1.126');
  assert.deepEqual([back.added.length, back.removed.length], [1, 1]);
  const get = catalogueChanges('1.121', '1.122');
  assert.deepEqual(get.added.map((e) => `${e.group} ${e.methods?.join()}`).sort(), ['account_data GET', 'account_data GET', 'presence GET']);
  assert.equal(get.removed.filter((e) => e.group === 'receipts').length, 2);
  assert.throws(() => catalogueChanges('1.66', '1.67'), /unknown Synapse version '1\.66'/);
});

test('the releases that changed the lists are exactly the cited ones', () => {
  const changed = SYNAPSE_VERSIONS.slice(1).filter((v, i) => {
    const c = catalogueChanges(SYNAPSE_VERSIONS[i] as string, v);
    return c.added.length + c.removed.length > 0;
  });
  assert.deepEqual(changed, [
    '1.70', '1.73', '1.79', '1.80', '1.81', '1.82', '1.87', '1.93', '1.105', '1.107', '1.108', '1.110', '1.111',
    '1.116', '1.122', '1.127', '1.130', '1.135', '1.136', '1.138', '1.144', '1.145', '1.152', '1.156', '1.157',
  ]);
});

test('method restrictions are GET-only, and every section names a documented list', () => {
  const prefixes = ['synapse.app.generic_worker > ', 'Stream writers > The ', 'Updating the User Directory', 'synapse.app.media_repository', 'synapse.app.user_dir'];
  for (const v of SYNAPSE_VERSIONS) {
    for (const e of catalogueFor(v).entries) {
      assert.ok(e.methods === undefined || (e.methods.length === 1 && e.methods[0] === 'GET'), `${v} ${e.regex}`);
      assert.ok(prefixes.some((p) => e.section.startsWith(p)), `${v} ${e.section}`);
    }
  }
});
