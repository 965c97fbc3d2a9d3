/**
 * Events as stored and as served. Stored events carry their stream ordering; the client format
 * (spec: "Room Events", ClientEvent) adds `unsigned` and applies redaction when the event was
 * redacted (spec: "Redactions", the algorithm of the room's version).
 */
import { randomBytes } from 'node:crypto';

/** An event as persisted. */
export interface StoredEvent {
  event_id: string;
  room_id: string;
  type: string;
  state_key?: string | undefined;
  sender: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  stream_ordering: number;
  depth: number;
  redacted_by?: string | null | undefined;
  /** The redaction event `redacted_by` names, as the storage reads join it (storage/events.ts). */
  redacted_because?: StoredEvent | undefined;
  prev_content?: Record<string, unknown> | null | undefined;
  txn_key?: string | null | undefined;
  /** The endpoint `txn_key` was used on (see EventDraft.txn_scope); only the persister reads it. */
  txn_scope?: string | undefined;
}

/** The client-facing event (spec ClientEvent). */
export interface ClientEvent {
  event_id: string;
  room_id: string;
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  unsigned: Record<string, unknown>;
}

/** What a caller asks to be sent; the persister fills in the rest. */
export interface EventDraft {
  type: string;
  state_key?: string | undefined;
  sender: string;
  content: Record<string, unknown>;
  redacts?: string | undefined;
  /** `user|device|txnId`: who sent it and the client's txnId (unsigned.transaction_id echoes it). */
  txn_key?: string | undefined;
  /**
   * The endpoint within the room the txnId was used on: `send <event type>` or
   * `redact <event ID>`. The spec scopes a transaction ID to the device and the HTTP endpoint, so
   * a transaction is (txn_key, room, txn_scope): the same txnId on another path is a new request.
   */
  txn_scope?: string | undefined;
  /**
   * For a `leave` of another user: the endpoint that asked for it, `kick` or `unban`. The auth
   * rules allow either transition for both, so the persister checks the target's membership
   * against the endpoint (rooms/auth.ts, checkMembershipAction) under the room's lock.
   */
  membership_action?: 'kick' | 'unban' | undefined;
}

/** A new event ID: `$` + 43 URL-safe base64 characters, the shape of room-version-4+ IDs. */
export function newEventId(): string {
  return `$${randomBytes(32).toString('base64url').slice(0, 43)}`;
}

/** A new room ID. */
export function newRoomId(serverName: string): string {
  return `!${randomBytes(18).toString('base64url')}:${serverName}`;
}

/** The room version rooms are created with (api/rooms.ts refuses any other). */
export const DEFAULT_ROOM_VERSION = '10';

/** A room version's number ("1".."11"); a non-numeric version is treated as the default. */
function versionNumber(roomVersion: string): number {
  const n = /^\d+$/.test(roomVersion) ? Number(roomVersion) : Number.NaN;
  return Number.isFinite(n) ? n : Number(DEFAULT_ROOM_VERSION);
}

/** Content keys kept by redaction, per event type, in room version `v` (spec: "Redactions" and each room version's changes). */
function keptKeys(type: string, v: number): readonly string[] {
  switch (type) {
    case 'm.room.member': return v >= 9 ? ['membership', 'join_authorised_via_users_server'] : ['membership'];
    case 'm.room.create': return ['creator']; // v11 keeps all content: handled in redactContent
    case 'm.room.join_rules': return v >= 8 ? ['join_rule', 'allow'] : ['join_rule'];
    case 'm.room.power_levels': {
      const keys = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];
      return v >= 11 ? [...keys, 'invite'] : keys;
    }
    case 'm.room.history_visibility': return ['history_visibility'];
    case 'm.room.aliases': return v <= 5 ? ['aliases'] : [];
    case 'm.room.redaction': return v >= 11 ? ['redacts'] : [];
    default: return [];
  }
}

/** Content left after redaction in room version `roomVersion`. */
export function redactContent(type: string, content: Record<string, unknown>, roomVersion: string): Record<string, unknown> {
  const v = versionNumber(roomVersion);
  if (type === 'm.room.create' && v >= 11) return { ...content };
  const keep = keptKeys(type, v);
  const out = Object.fromEntries(Object.entries(content).filter(([k]) => keep.includes(k)));
  // v11: m.room.member keeps third_party_invite.signed (and nothing else of third_party_invite).
  if (type === 'm.room.member' && v >= 11) {
    const tpi = content.third_party_invite;
    if (tpi !== null && typeof tpi === 'object' && 'signed' in tpi) out.third_party_invite = { signed: (tpi as Record<string, unknown>).signed };
  }
  return out;
}

/**
 * Formats a stored event for a client; `txnFor` is the requester's `user|device` (echoes
 * transaction_id). `roomVersion` selects the redaction rules; callers omit it today because every
 * room this server creates is version 10 (DEFAULT_ROOM_VERSION).
 */
export function toClient(e: StoredEvent, now: number, txnFor?: string, roomVersion: string = DEFAULT_ROOM_VERSION): ClientEvent {
  const unsigned: Record<string, unknown> = { age: Math.max(0, now - e.origin_server_ts) };
  let content = e.content;
  if (e.redacted_by) {
    content = redactContent(e.type, content, roomVersion);
    // As Synapse serves a redacted event: the redaction's ID, and the redaction event itself in
    // the client format (spec: UnsignedData.redacted_because), formatted for the same requester.
    unsigned.redacted_by = e.redacted_by;
    if (e.redacted_because) unsigned.redacted_because = toClient(e.redacted_because, now, txnFor, roomVersion);
  }
  if (e.prev_content) unsigned.prev_content = e.prev_content;
  if (txnFor && e.txn_key && e.txn_key.startsWith(`${txnFor}|`)) unsigned.transaction_id = e.txn_key.slice(txnFor.length + 1);
  const out: ClientEvent = { event_id: e.event_id, room_id: e.room_id, type: e.type, sender: e.sender, content, origin_server_ts: e.origin_server_ts, unsigned };
  if (e.state_key !== undefined && e.state_key !== null) out.state_key = e.state_key;
  if (e.type === 'm.room.redaction' && typeof e.content.redacts === 'string') (out as ClientEvent & { redacts?: string }).redacts = e.content.redacts;
  return out;
}
