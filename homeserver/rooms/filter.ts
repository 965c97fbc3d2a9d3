/**
 * Filters (spec: Client-Server API "Filtering"): event filters with types/senders/rooms (with `*`
 * wildcards), a timeline limit, and lazy loading of members for the state section. Parsed once
 * with zod; an invalid filter is 400 M_BAD_JSON.
 */
import { z } from 'zod';
import { badJson } from '../errors.ts';

const Strings = z.array(z.string()).optional();

const EventFilter = z.looseObject({
  limit: z.number().int().min(0).optional(),
  types: Strings, not_types: Strings, senders: Strings, not_senders: Strings, rooms: Strings, not_rooms: Strings,
  lazy_load_members: z.boolean().optional(),
  include_redundant_members: z.boolean().optional(),
});
export type EventFilter = z.output<typeof EventFilter>;

export const Filter = z.looseObject({
  event_fields: Strings,
  event_format: z.enum(['client', 'federation']).optional(),
  presence: EventFilter.optional(),
  account_data: EventFilter.optional(),
  room: z.looseObject({
    rooms: Strings, not_rooms: Strings, include_leave: z.boolean().optional(),
    timeline: EventFilter.optional(), state: EventFilter.optional(), ephemeral: EventFilter.optional(), account_data: EventFilter.optional(),
  }).optional(),
});
export type Filter = z.output<typeof Filter>;

/** Validates a filter object. */
export function parseFilter(v: unknown): Filter {
  const r = Filter.safeParse(v);
  if (!r.success) throw badJson(`invalid filter: ${r.error.issues[0]?.message ?? 'bad shape'}`);
  return r.data;
}

function globMatch(pattern: string, value: string): boolean {
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

const anyMatch = (patterns: readonly string[] | undefined, value: string): boolean => patterns !== undefined && patterns.some((p) => globMatch(p, value));

/** Whether an event passes an event filter. */
export function matches(f: EventFilter | undefined, e: { type: string; sender: string; room_id?: string }): boolean {
  if (!f) return true;
  if (anyMatch(f.not_types, e.type) || anyMatch(f.not_senders, e.sender)) return false;
  if (f.types && !anyMatch(f.types, e.type)) return false;
  if (f.senders && !f.senders.includes(e.sender)) return false;
  if (e.room_id !== undefined) {
    if (f.not_rooms?.includes(e.room_id)) return false;
    if (f.rooms && !f.rooms.includes(e.room_id)) return false;
  }
  return true;
}

/** Whether a room passes the room-level filter. */
export function roomAllowed(f: Filter, roomId: string): boolean {
  if (f.room?.not_rooms?.includes(roomId)) return false;
  return !f.room?.rooms || f.room.rooms.includes(roomId);
}
