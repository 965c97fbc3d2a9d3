/**
 * The room authorization rules (spec: Server-Server API "Authorization rules"), one test per rule,
 * against real RoomState values; the API-level read rules and history visibility run against a
 * real server in visibility.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize } from '../../homeserver/rooms/auth.ts';
import { RoomState } from '../../homeserver/rooms/state.ts';
import type { EventDraft, StoredEvent } from '../../homeserver/rooms/event.ts';
import { MatrixError } from '../../homeserver/errors.ts';

const A = '@alice:x', B = '@bob:x', C = '@carol:x', M = '@mod:x';
let so = 0;
const ev = (type: string, sender: string, content: Record<string, unknown>, state_key?: string): StoredEvent =>
  ({ event_id: `$${++so}`, room_id: '!r:x', type, sender, content, state_key, origin_server_ts: 0, stream_ordering: so, depth: so });
const member = (user: string, membership: string, sender = user) => ev('m.room.member', sender, { membership }, user);

/** A room created by Alice with a moderator (50) and the given join rule. */
function room(joinRule = 'invite', extra: StoredEvent[] = []): RoomState {
  return RoomState.from([
    ev('m.room.create', A, { room_version: '10' }, ''),
    member(A, 'join'),
    ev('m.room.power_levels', A, { users: { [A]: 100, [M]: 50 }, users_default: 0, state_default: 50, events_default: 0, ban: 50, kick: 50, redact: 50, invite: 0, events: { 'm.room.power_levels': 100 } }, ''),
    ev('m.room.join_rules', A, { join_rule: joinRule }, ''),
    member(M, 'join'),
    ...extra,
  ]);
}

const allowed = (d: EventDraft, s: RoomState, target?: StoredEvent) => assert.doesNotThrow(() => authorize(d, s, target));
function denied(d: EventDraft, s: RoomState, target?: StoredEvent): void {
  assert.throws(() => authorize(d, s, target), (e: unknown) => e instanceof MatrixError && e.errcode === 'M_FORBIDDEN' && e.status === 403);
}
const draft = (type: string, sender: string, content: Record<string, unknown>, state_key?: string): EventDraft => ({ type, sender, content, state_key });
const join = (u: string) => draft('m.room.member', u, { membership: 'join' }, u);

test('m.room.create only as the first event', () => {
  allowed(draft('m.room.create', A, {}, ''), new RoomState());
  denied(draft('m.room.create', A, {}, ''), room());
  denied(draft('m.room.message', A, {}), new RoomState());
});

test('join: public rooms admit anyone; invite-only rooms only the invited', () => {
  allowed(join(B), room('public'));
  denied(join(B), room('invite'));
  allowed(join(B), room('invite', [member(B, 'invite', A)]));
});

test('join: the banned cannot join, and nobody joins as someone else', () => {
  denied(join(B), room('public', [member(B, 'ban', A)]));
  denied(draft('m.room.member', A, { membership: 'join' }, B), room('public'));
});

test('invite: sender must be joined, target not joined or banned, level >= invite', () => {
  allowed(draft('m.room.member', A, { membership: 'invite' }, B), room());
  denied(draft('m.room.member', C, { membership: 'invite' }, B), room());
  denied(draft('m.room.member', A, { membership: 'invite' }, M), room());
  denied(draft('m.room.member', A, { membership: 'invite' }, B), room('invite', [member(B, 'ban', A)]));
  const strict = room('invite', [ev('m.room.power_levels', A, { users: { [A]: 100, [M]: 50 }, invite: 60 }, '')]);
  denied(draft('m.room.member', M, { membership: 'invite' }, B), strict);
});

test('leave: members and invitees may leave; others may not', () => {
  allowed(draft('m.room.member', M, { membership: 'leave' }, M), room());
  allowed(draft('m.room.member', B, { membership: 'leave' }, B), room('invite', [member(B, 'invite', A)]));
  denied(draft('m.room.member', B, { membership: 'leave' }, B), room());
});

test('kick: needs the kick level and a level above the target', () => {
  const r = room('public', [member(B, 'join')]);
  allowed(draft('m.room.member', M, { membership: 'leave' }, B), r);
  denied(draft('m.room.member', B, { membership: 'leave' }, M), r);
  denied(draft('m.room.member', M, { membership: 'leave' }, A), r);
});

test('ban and unban: need the ban level; bans need a level above the target', () => {
  const r = room('public', [member(B, 'join')]);
  allowed(draft('m.room.member', M, { membership: 'ban' }, B), r);
  denied(draft('m.room.member', B, { membership: 'ban' }, M), r);
  denied(draft('m.room.member', M, { membership: 'ban' }, A), r);
  const banned = room('public', [member(B, 'join'), member(C, 'ban', A)]);
  allowed(draft('m.room.member', M, { membership: 'leave' }, C), banned);
  denied(draft('m.room.member', B, { membership: 'leave' }, C), banned);
});

test('non-members cannot send', () => {
  denied(draft('m.room.message', B, { body: 'hi' }), room());
  allowed(draft('m.room.message', M, { body: 'hi' }), room());
});

test('state events need state_default (or the per-type level)', () => {
  const r = room('public', [member(B, 'join')]);
  denied(draft('m.room.name', B, { name: 'x' }, ''), r);
  allowed(draft('m.room.name', M, { name: 'x' }, ''), r);
  denied(draft('m.room.power_levels', M, { users: { [A]: 100, [M]: 50 } }, ''), r);
});

test('power levels: no granting above your own level, no changing peers', () => {
  const r = room('public', [member(B, 'join')]);
  const base = { users: { [A]: 100, [M]: 50 }, users_default: 0, state_default: 50, events_default: 0, ban: 50, kick: 50, redact: 50, invite: 0, events: { 'm.room.power_levels': 100 } };
  allowed(draft('m.room.power_levels', A, { ...base, users: { ...base.users, [B]: 50 } }, ''), r);
  const modMayEdit = room('public', [member(B, 'join'), ev('m.room.power_levels', A, { ...base, events: { 'm.room.power_levels': 50 } }, '')]);
  denied(draft('m.room.power_levels', M, { ...base, events: { 'm.room.power_levels': 50 }, users: { ...base.users, [B]: 75 } }, ''), modMayEdit);
  allowed(draft('m.room.power_levels', M, { ...base, events: { 'm.room.power_levels': 50 }, users: { ...base.users, [B]: 25 } }, ''), modMayEdit);
  const twoMods = room('public', [member(B, 'join'), ev('m.room.power_levels', A, { ...base, events: { 'm.room.power_levels': 50 }, users: { ...base.users, [B]: 50 } }, '')]);
  denied(draft('m.room.power_levels', M, { ...base, events: { 'm.room.power_levels': 50 }, users: { ...base.users, [B]: 0 } }, ''), twoMods);
});

test('redaction: your own events, or anyone\'s at the redact level', () => {
  const r = room('public', [member(B, 'join'), member(C, 'join')]);
  const bMsg = ev('m.room.message', B, { body: 'x' });
  allowed(draft('m.room.redaction', B, {}), r, bMsg);
  denied(draft('m.room.redaction', C, {}), r, bMsg);
  allowed(draft('m.room.redaction', M, {}), r, bMsg);
});

test('state keys starting with @ belong to that user', () => {
  const r = room('public', [ev('m.room.power_levels', A, { users: { [A]: 100 }, state_default: 0 }, ''), member(B, 'join')]);
  allowed(draft('x.custom', B, {}, B), r);
  denied(draft('x.custom', B, {}, C), r);
});
