/**
 * The redaction algorithm by room version (spec: "Redactions" and the room versions' changes),
 * and its use by the client format (toClient) for redacted events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactContent, toClient, type StoredEvent } from '../../homeserver/rooms/event.ts';

const pl = {
  ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50,
  users: { '@a:hs': 100 }, users_default: 0, invite: 0, notifications: { room: 50 },
};
const plV10 = { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50, users: { '@a:hs': 100 }, users_default: 0 };

test('m.room.power_levels: invite is kept only from v11, notifications never', () => {
  assert.deepEqual(redactContent('m.room.power_levels', pl, '10'), plV10);
  assert.deepEqual(redactContent('m.room.power_levels', pl, '1'), plV10);
  assert.deepEqual(redactContent('m.room.power_levels', pl, '11'), { ...plV10, invite: 0 });
});

test('m.room.create keeps all content from v11, only creator before', () => {
  const c = { creator: '@a:hs', room_version: '10', 'm.federate': false, predecessor: { room_id: '!x:hs' } };
  assert.deepEqual(redactContent('m.room.create', c, '10'), { creator: '@a:hs' });
  assert.deepEqual(redactContent('m.room.create', { ...c, room_version: '11' }, '11'), { ...c, room_version: '11' });
});

test('m.room.join_rules keeps allow from v8', () => {
  const c = { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!x:hs' }], other: 1 };
  assert.deepEqual(redactContent('m.room.join_rules', c, '7'), { join_rule: 'restricted' });
  assert.deepEqual(redactContent('m.room.join_rules', c, '8'), { join_rule: 'restricted', allow: c.allow });
  assert.deepEqual(redactContent('m.room.join_rules', c, '10'), { join_rule: 'restricted', allow: c.allow });
});

test('m.room.member keeps join_authorised_via_users_server from v9 and third_party_invite.signed from v11', () => {
  const signed = { mxid: '@b:hs', token: 't', signatures: {} };
  const c = { membership: 'join', displayname: 'B', join_authorised_via_users_server: '@a:hs', third_party_invite: { display_name: 'b', signed } };
  assert.deepEqual(redactContent('m.room.member', c, '8'), { membership: 'join' });
  assert.deepEqual(redactContent('m.room.member', c, '10'), { membership: 'join', join_authorised_via_users_server: '@a:hs' });
  assert.deepEqual(redactContent('m.room.member', c, '11'), { membership: 'join', join_authorised_via_users_server: '@a:hs', third_party_invite: { signed } });
});

test('m.room.redaction keeps redacts in content from v11; other types keep nothing', () => {
  const c = { redacts: '$x', reason: 'spam' };
  assert.deepEqual(redactContent('m.room.redaction', c, '10'), {});
  assert.deepEqual(redactContent('m.room.redaction', c, '11'), { redacts: '$x' });
  assert.deepEqual(redactContent('m.room.message', { msgtype: 'm.text', body: 'hi' }, '11'), {});
  assert.deepEqual(redactContent('m.room.history_visibility', { history_visibility: 'shared', x: 1 }, '10'), { history_visibility: 'shared' });
});

test('toClient redacts with the v10 rules by default (the only version rooms are created with)', () => {
  const e: StoredEvent = {
    event_id: '$pl', room_id: '!r:hs', type: 'm.room.power_levels', state_key: '', sender: '@a:hs', content: pl,
    origin_server_ts: 1, stream_ordering: 5, depth: 3, redacted_by: '$red',
  };
  assert.deepEqual(toClient(e, 10).content, plV10);
  assert.deepEqual(toClient(e, 10, undefined, '11').content, { ...plV10, invite: 0 });
});
