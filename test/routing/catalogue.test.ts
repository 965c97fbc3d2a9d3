/**
 * The endpoint catalogue against the seed document (shared/seed/workers.md, Synapse 1.89–1.92's
 * docs/workers.md) and against facts of the Synapse releases it covers (issue 2 point 4,
 * issue 4 point 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  catalogueFor,
  catalogueChanges,
  compareVersions,
  GROUP_NAMES,
  isGroupName,
  LATEST_SYNAPSE_VERSION,
  SEED_VERSION,
  SYNAPSE_VERSIONS,
  type Catalogue,
  type GroupName,
} from '../../routing/catalogue/index.ts';

const SEED = new URL('../../../shared/seed/workers.md', import.meta.url);

/** Endpoint regex tokens of the seed: tokens starting with `^/` or `/_`, outside fenced code blocks. */
function seedRegexes(): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const tok of readFileSync(SEED, 'utf8').split(/\s+/)) {
    if (tok.startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (!fenced && (tok.startsWith('^/') || tok.startsWith('/_'))) out.push(tok);
  }
  return out;
}

function hasDoc(cat: Catalogue, docText: string, group?: GroupName): boolean {
  return cat.entries.some((e) => (e.docText ?? e.regex) === docText && (group === undefined || e.group === group));
}

test('every endpoint regex of the seed document is in the seed catalogue', () => {
  const tokens = seedRegexes();
  assert.ok(tokens.length >= 90, `expected about 100 endpoint tokens, found ${tokens.length}`);
  const cat = catalogueFor(SEED_VERSION);
  const missing = tokens.filter((t) => !hasDoc(cat, t));
  assert.deepEqual(missing, []);
});

test('every documented entry of the seed catalogue occurs in the seed document', () => {
  const tokens = new Set(seedRegexes());
  const cat = catalogueFor(SEED_VERSION);
  const extra = cat.entries.filter((e) => e.note !== 'not in docs' && !tokens.has(e.docText ?? e.regex));
  assert.deepEqual(extra, []);
});

test('well-known seed regexes sit in the groups the document gives them', () => {
  const cat = catalogueFor(SEED_VERSION);
  const expect: ReadonlyArray<[string, GroupName]> = [
    ['^/_matrix/client/(r0|v3)/sync$', 'sync'],
    ['^/_matrix/client/(api/v1|r0|v3)/rooms/[^/]+/initialSync$', 'sync'],
    ['^/_matrix/federation/v1/event/', 'federation'],
    ['^/_matrix/key/v2/query', 'federation'],
    ['^/_matrix/federation/v1/send/', 'federation_transaction'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/createRoom$', 'client'],
    ['^/_matrix/client/(r0|v3|unstable)/keys/claim$', 'encryption'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/login$', 'registration'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/send', 'event_sending'],
    ['^/_matrix/client/(r0|v3|unstable)/.*/account_data', 'account_data'],
    ['^/_matrix/client/(r0|v3|unstable)/rooms/.*/receipt', 'receipts'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/presence/', 'presence'],
    ['^/_matrix/client/(r0|v3|unstable)/user_directory/search$', 'user_directory'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/pushrules/', 'push_rules'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/messages$', 'pagination'],
    ['^/_synapse/client/pick_idp$', 'sso'],
    ['^/_synapse/client/oidc/callback$', 'sso_oidc'],
    ['^/_synapse/client/saml2/authn_response$', 'sso_saml'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/login/cas/ticket$', 'sso_cas'],
    ['^/_matrix/client/(api/v1|r0|v3|unstable)/rooms/.*/typing', 'typing'],
    ['^/_matrix/client/(r0|v3|unstable)/sendToDevice/', 'to_device'],
    ['/_matrix/media/', 'media'],
    ['^/_synapse/admin/v1/purge_media_cache$', 'media_admin'],
  ];
  for (const [doc, group] of expect) assert.ok(hasDoc(cat, doc, group), `${doc} in ${group}`);
  assert.deepEqual(cat.group('push_rules')?.map((e) => e.methods), [['GET']]);
  assert.deepEqual(cat.group('media')?.map((e) => e.regex), ['^/_matrix/media/']);
});

test('stream-writer and generic-worker entries of one stream share a group, each with its section', () => {
  const cat = catalogueFor(SEED_VERSION);
  const sections = (g: string): string[] => [...new Set(cat.group(g)?.map((e) => e.section))];
  assert.deepEqual(sections('account_data'), ['synapse.app.generic_worker > Account data requests', 'Stream writers > The account_data stream']);
  assert.deepEqual(sections('receipts'), ['synapse.app.generic_worker > Receipts requests', 'Stream writers > The receipts stream']);
  assert.deepEqual(sections('presence'), ['synapse.app.generic_worker > Presence requests', 'Stream writers > The presence stream']);
  assert.deepEqual(sections('typing'), ['Stream writers > The typing stream']);
  assert.equal(cat.group('sync')?.[0]?.section, 'synapse.app.generic_worker > Sync requests');
});

test('sliding sync is catalogued for sync workers from 1.110, marked as not in the docs', () => {
  for (const v of ['1.110', SEED_VERSION === '1.92' ? '1.114' : SEED_VERSION, LATEST_SYNAPSE_VERSION]) {
    const ss = catalogueFor(v).group('sliding_sync');
    assert.deepEqual(ss?.map((e) => [e.regex, e.note]), [['^/_matrix/client/unstable/org.matrix.simplified_msc3575/sync$', 'not in docs']]);
  }
  assert.deepEqual(catalogueFor('1.109').group('sliding_sync'), [], 'a known group, empty before 1.110');
  assert.ok(!catalogueFor('1.109').groupNames.includes('sliding_sync'));
});

test('every regex of every version compiles as an ECMAScript RegExp', () => {
  for (const v of SYNAPSE_VERSIONS) {
    for (const e of catalogueFor(v).entries) assert.doesNotThrow(() => new RegExp(e.regex), `${v}: ${e.regex}`);
  }
});

test('versions are ascending, unique, and the default is the newest', () => {
  for (let i = 1; i < SYNAPSE_VERSIONS.length; i++) {
    assert.ok(compareVersions(SYNAPSE_VERSIONS[i - 1] as string, SYNAPSE_VERSIONS[i] as string) < 0);
  }
  assert.equal(LATEST_SYNAPSE_VERSION, SYNAPSE_VERSIONS.at(-1));
  assert.ok(SYNAPSE_VERSIONS.includes(SEED_VERSION));
  assert.equal(catalogueFor().version, LATEST_SYNAPSE_VERSION);
  assert.equal(catalogueFor(`v${SEED_VERSION}.0`), catalogueFor(SEED_VERSION), 'tag spelling normalises and caches');
});

test('an unknown version is a clear error listing the known ones', () => {
  assert.throws(() => catalogueFor('0.99'), (err: Error) => err.message.includes('0.99') && err.message.includes(SEED_VERSION));
  assert.throws(() => catalogueFor('banana'), /unknown Synapse version 'banana'/);
});

test('group names: known, unknown, and empty groups', () => {
  for (const g of GROUP_NAMES) assert.ok(isGroupName(g));
  assert.equal(isGroupName('nope'), false);
  const cat = catalogueFor(SEED_VERSION);
  assert.equal(cat.group('nope'), undefined);
  for (const g of cat.groupNames) assert.ok((cat.group(g)?.length ?? 0) > 0, g);
  assert.ok(Object.isFrozen(cat.entries) && Object.isFrozen(cat.entries[0]));
});

test('catalogueChanges between a release and itself is empty', () => {
  const c = catalogueChanges(SEED_VERSION, SEED_VERSION);
  assert.deepEqual([c.added.length, c.removed.length], [0, 0]);
});
