/**
 * Events as stored and as served. Stored events carry their stream ordering; the client format
 * (spec: "Room Events", ClientEvent) adds `unsigned` and applies redaction when the event was
 * redacted (spec: "Redactions", the v10 room-version redaction algorithm).
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
}

/** A new event ID: `$` + 43 URL-safe base64 characters, the shape of room-version-4+ IDs. */
export function newEventId(): string {
  return `$${randomBytes(32).toString('base64url').slice(0, 43)}`;
}

/** A new room ID. */
export function newRoomId(serverName: string): string {
  return `!${randomBytes(18).toString('base64url')}:${serverName}`;
}

/** Content keys kept by redaction, per event type (spec: room version 10 redaction rules). */
const KEEP: Record<string, readonly string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default', 'invite', 'notifications'],
  'm.room.history_visibility': ['history_visibility'],
};

/** Content left after redaction. */
export function redactContent(type: string, content: Record<string, unknown>): Record<string, unknown> {
  const keep = KEEP[type] ?? [];
  return Object.fromEntries(Object.entries(content).filter(([k]) => keep.includes(k)));
}

/** Formats a stored event for a client; `txnFor` is the requester's `user|device` (echoes transaction_id). */
export function toClient(e: StoredEvent, now: number, txnFor?: string): ClientEvent {
  const unsigned: Record<string, unknown> = { age: Math.max(0, now - e.origin_server_ts) };
  let content = e.content;
  if (e.redacted_by) {
    content = redactContent(e.type, content);
    unsigned.redacted_because = { event_id: e.redacted_by, type: 'm.room.redaction', room_id: e.room_id, content: {}, sender: '', origin_server_ts: 0 };
  }
  if (e.prev_content) unsigned.prev_content = e.prev_content;
  if (txnFor && e.txn_key && e.txn_key.startsWith(`${txnFor}|`)) unsigned.transaction_id = e.txn_key.slice(txnFor.length + 1);
  const out: ClientEvent = { event_id: e.event_id, room_id: e.room_id, type: e.type, sender: e.sender, content, origin_server_ts: e.origin_server_ts, unsigned };
  if (e.state_key !== undefined && e.state_key !== null) out.state_key = e.state_key;
  if (e.type === 'm.room.redaction' && typeof e.content.redacts === 'string') (out as ClientEvent & { redacts?: string }).redacts = e.content.redacts;
  return out;
}
