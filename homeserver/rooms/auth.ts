/**
 * Authorization rules for the events this server creates (spec: Server-Server API "Authorization
 * rules", room versions 1-10, the subset for m.room.create, m.room.member, m.room.power_levels,
 * m.room.redaction and every other event's power-level check). Pure functions of the draft and the
 * room state, so each rule has its own test (test/homeserver/auth-rules.test.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import { MatrixError, forbidden } from '../errors.ts';
import type { EventDraft, StoredEvent } from './event.ts';
import type { RoomState } from './state.ts';

/** Throws M_FORBIDDEN when `draft` is not allowed in `state`. `redacted` is the redaction target. */
export function authorize(draft: EventDraft, state: RoomState, redacted?: StoredEvent): void {
  if (draft.type === 'm.room.create') {
    if (state.exists) throw forbidden('room already exists');
    return;
  }
  if (!state.exists) throw forbidden('room does not exist');
  if (draft.type === 'm.room.member') {
    checkMembershipAction(draft, state);
    return authorizeMember(draft, state);
  }
  if (state.membership(draft.sender) !== 'join') throw forbidden(`${draft.sender} is not in the room`);
  const isState = draft.state_key !== undefined;
  const needed = state.requiredLevel(draft.type, isState);
  const have = state.userLevel(draft.sender);
  if (have < needed) throw forbidden(`sending ${draft.type} needs power level ${needed}; ${draft.sender} has ${have}`);
  if (isState && draft.state_key!.startsWith('@') && draft.state_key !== draft.sender) throw forbidden('state keys starting with @ are reserved for that user');
  if (draft.type === 'm.room.power_levels') authorizePowerLevels(draft, state);
  if (draft.type === 'm.room.redaction') authorizeRedaction(draft, state, redacted);
}

/**
 * The target's current member event when `draft` repeats it (same sender, same content), so the
 * persister answers with it and writes nothing; `undefined` otherwise. As in Synapse (the duplicate
 * checks of handlers/room_member.py and handlers/message.py, both before the auth rules): a repeated
 * /ban, /leave, /join, /invite or member state PUT succeeds without a new event, even where the
 * auth rules would now refuse it (a second leave, say). /kick and /unban check the target's
 * membership first (checkMembershipAction), so their repeats are refused, as Synapse refuses them.
 */
export function repeatedMember(draft: EventDraft, state: RoomState): StoredEvent | undefined {
  if (draft.type !== 'm.room.member' || draft.state_key === undefined || !state.exists) return undefined;
  checkMembershipAction(draft, state);
  const current = state.get('m.room.member', draft.state_key);
  if (!current || current.sender !== draft.sender || !isDeepStrictEqual(current.content, draft.content)) return undefined;
  return current;
}

/**
 * /kick and /unban both send a `leave`, which the auth rules allow from any membership the sender
 * may change; the endpoints are narrower, as in Synapse (handlers/room_member.py): unban only a
 * banned user (403 M_BAD_STATE), kick only a user who is joined, invited or knocking (a banned one
 * is 403 M_BAD_STATE, anyone else 403 M_FORBIDDEN). Synapse lets /unban of a user with no member
 * event through to the auth rules, which then allow a kick; here that is refused as well.
 */
function checkMembershipAction(draft: EventDraft, state: RoomState): void {
  const action = draft.membership_action;
  if (action === undefined) return;
  if (action !== 'kick' && action !== 'unban') throw new MatrixError('M_BAD_JSON', `unknown membership_action ${JSON.stringify(action)}`);
  const target = draft.state_key ?? '';
  const targetM = state.membership(target);
  if (draft.content.membership !== 'leave') throw forbidden(`/${action} sends a leave, not ${JSON.stringify(draft.content.membership)}`);
  if (action === 'unban') {
    if (targetM !== 'ban') throw new MatrixError('M_BAD_STATE', `Cannot unban ${target}: not banned (membership ${targetM ?? 'none'})`, 403);
    return;
  }
  if (targetM === 'ban') throw new MatrixError('M_BAD_STATE', `Cannot kick ${target}: banned`, 403);
  if (targetM !== 'join' && targetM !== 'invite' && targetM !== 'knock') throw forbidden(`Cannot kick ${target}: not in the room`);
}

function authorizeMember(draft: EventDraft, state: RoomState): void {
  const target = draft.state_key;
  if (target === undefined || !target.startsWith('@')) throw forbidden('m.room.member needs a user ID state_key');
  const membership = draft.content.membership;
  const senderM = state.membership(draft.sender);
  const targetM = state.membership(target);
  const level = (u: string): number => state.userLevel(u);
  const pl = state.powerLevels;
  switch (membership) {
    case 'join': {
      if (draft.sender !== target) throw forbidden('you can only join as yourself');
      const create = state.get('m.room.create')!;
      if (create.sender === target && state.events.size === 1) return; // the creator's first join
      if (targetM === 'ban') throw forbidden('you are banned from this room');
      if (targetM === 'join' || targetM === 'invite') return;
      if (state.joinRule === 'public') return;
      throw forbidden('you are not invited to this room');
    }
    case 'invite':
      if (senderM !== 'join') throw forbidden('you must be in the room to invite');
      if (targetM === 'join' || targetM === 'ban') throw forbidden(`${target} is ${targetM === 'ban' ? 'banned' : 'already in the room'}`);
      if (level(draft.sender) < pl.invite) throw forbidden('your power level is too low to invite');
      return;
    case 'leave':
      if (draft.sender === target) {
        if (targetM === 'join' || targetM === 'invite' || targetM === 'knock') return;
        throw forbidden('you are not in this room');
      }
      if (senderM !== 'join') throw forbidden('you must be in the room to kick or unban');
      if (targetM === 'ban') {
        if (level(draft.sender) < pl.ban) throw forbidden('your power level is too low to unban');
        return;
      }
      if (level(draft.sender) < pl.kick || level(target) >= level(draft.sender)) throw forbidden('your power level is too low to kick this user');
      return;
    case 'ban':
      if (senderM !== 'join') throw forbidden('you must be in the room to ban');
      if (level(draft.sender) < pl.ban || level(target) >= level(draft.sender)) throw forbidden('your power level is too low to ban this user');
      return;
    default:
      throw forbidden(`unsupported membership ${JSON.stringify(membership)}`);
  }
}

/** Spec rule 10: no level above your own may be granted, changed or removed; peers are untouchable. */
function authorizePowerLevels(draft: EventDraft, state: RoomState): void {
  const old = state.get('m.room.power_levels')?.content;
  if (!old) return;
  const mine = state.userLevel(draft.sender);
  const next = draft.content;
  for (const key of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
    checkChange(old[key], next[key], mine, key);
  }
  for (const field of ['events', 'users'] as const) {
    const a = (old[field] as Record<string, unknown> | undefined) ?? {};
    const b = (next[field] as Record<string, unknown> | undefined) ?? {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[k] === b[k]) continue;
      checkChange(a[k], b[k], mine, `${field}.${k}`);
      if (field === 'users' && k !== draft.sender && typeof a[k] === 'number' && (a[k] as number) >= mine) {
        throw forbidden(`cannot change the power level of ${k}, whose level is not below yours`);
      }
    }
  }
}

function checkChange(before: unknown, after: unknown, mine: number, what: string): void {
  if (before === after) return;
  for (const v of [before, after]) if (typeof v === 'number' && v > mine) throw forbidden(`cannot change ${what} to or from a level above your own`);
}

function authorizeRedaction(draft: EventDraft, state: RoomState, redacted?: StoredEvent): void {
  if (state.userLevel(draft.sender) >= state.powerLevels.redact) return;
  if (redacted && redacted.sender === draft.sender) return;
  throw forbidden('you may only redact your own events at your power level');
}
