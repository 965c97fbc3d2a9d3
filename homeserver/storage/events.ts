/**
 * SQL for the events table and room state. The events table is also the state history: the state
 * of a room at stream position P is, per (type, state_key), the latest state event at or below P.
 * Every read of whole events also loads a redacted event's redaction event (withRedactions), so the
 * client format can carry it as `unsigned.redacted_because`.
 */
import type pg from 'pg';
import type { Queryable } from './db.ts';
import type { StoredEvent } from '../rooms/event.ts';

/** The event columns every event read selects. */
const EVENT_COLS = ['event_id', 'room_id', 'type', 'state_key', 'sender', 'content', 'origin_server_ts', 'stream_ordering', 'depth', 'redacted_by', 'prev_content', 'txn_key'];
/** EVENT_COLS of `events e`. */
const COLS = EVENT_COLS.map((c) => `e.${c}`).join(', ');

/** The columns both event inserts write, in the order of their VALUES. */
const INSERT_COLS = ['stream_ordering', 'event_id', 'room_id', 'type', 'state_key', 'sender', 'content', 'origin_server_ts', 'depth', 'instance_name', 'txn_key', 'prev_content', 'membership', 'txn_scope'];
const INSERT_EVENTS = `INSERT INTO events (${INSERT_COLS.join(', ')})`;

interface EventRow {
  event_id: string; room_id: string; type: string; state_key: string | null; sender: string;
  content: Record<string, unknown>; origin_server_ts: string; stream_ordering: string; depth: string;
  redacted_by: string | null; prev_content: Record<string, unknown> | null; txn_key: string | null;
}

function eventFromRow(r: EventRow): StoredEvent {
  return {
    event_id: r.event_id, room_id: r.room_id, type: r.type, state_key: r.state_key ?? undefined, sender: r.sender,
    content: r.content, origin_server_ts: Number(r.origin_server_ts), stream_ordering: Number(r.stream_ordering),
    depth: Number(r.depth), redacted_by: r.redacted_by, prev_content: r.prev_content, txn_key: r.txn_key,
  };
}

/**
 * The events of `rows`, each redacted one with its redaction event (`redacted_because`), which
 * clients get as `unsigned.redacted_because`. The redactions come in a second query by event ID,
 * only when some row was redacted: joining them into every read made PostgreSQL hash the whole
 * room's events for a room's state (stateAt). Only a redaction of the same room counts (insertEvents
 * writes no other); the redaction is served without prev_content.
 */
async function withRedactions(q: Queryable, rows: EventRow[]): Promise<StoredEvent[]> {
  const events = rows.map(eventFromRow);
  const ids = [...new Set(events.flatMap((e) => (e.redacted_by ? [e.redacted_by] : [])))];
  if (ids.length === 0) return events;
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM events e WHERE e.event_id = ANY($1)`, [ids]);
  const byId = new Map(r.rows.map((x) => [x.event_id, x]));
  for (const e of events) {
    const x = e.redacted_by ? byId.get(e.redacted_by) : undefined;
    if (x && x.room_id === e.room_id) e.redacted_because = eventFromRow({ ...x, prev_content: null });
  }
  return events;
}

/**
 * Inserts one non-state event whose stream ordering the statement itself takes from the events
 * sequence (one round trip, one commit), and returns that ordering. See WriterIdGen.allocateWith.
 */
export async function insertMessageEvent(q: Queryable, e: StoredEvent, instance: string): Promise<number> {
  const r = await q.query<{ stream_ordering: string }>({
    name: 'insert_message_event',
    text: `${INSERT_EVENTS}
           VALUES (nextval('events_stream_seq'),$1,$2,$3,NULL,$4,$5,$6,$7,$8,$9,NULL,NULL,$10) RETURNING stream_ordering`,
    values: [e.event_id, e.room_id, e.type, e.sender, JSON.stringify(e.content), e.origin_server_ts, e.depth, instance, e.txn_key ?? null, e.txn_scope ?? null],
  });
  return Number(r.rows[0]!.stream_ordering);
}

/** Inserts events and updates current_state in the caller's transaction. */
export async function insertEvents(c: Queryable, events: readonly StoredEvent[], instance: string): Promise<void> {
  const values: unknown[] = [];
  const rows = events.map((e, i) => {
    values.push(e.stream_ordering, e.event_id, e.room_id, e.type, e.state_key ?? null, e.sender, JSON.stringify(e.content),
      e.origin_server_ts, e.depth, instance, e.txn_key ?? null, e.prev_content ? JSON.stringify(e.prev_content) : null,
      e.type === 'm.room.member' ? String(e.content.membership ?? '') : null, e.txn_scope ?? null);
    const b = i * INSERT_COLS.length;
    return `(${INSERT_COLS.map((_, k) => `$${b + k + 1}`).join(',')})`;
  });
  const text = `${INSERT_EVENTS} VALUES ${rows.join(',')}`;
  // Small batches (every single send) run as named statements: parsed and planned once per connection.
  await c.query(events.length <= 4 ? { name: `insert_events_${events.length}`, text, values } : { text, values });
  for (const e of events) {
    if (e.state_key !== undefined) {
      await c.query(
        `INSERT INTO current_state (room_id, type, state_key, event_id, stream_ordering, membership) VALUES ($1,$2,$3,$4,$5,$6)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id, stream_ordering = EXCLUDED.stream_ordering, membership = EXCLUDED.membership`,
        [e.room_id, e.type, e.state_key, e.event_id, e.stream_ordering, e.type === 'm.room.member' ? String(e.content.membership ?? '') : null],
      );
    }
    if (e.type === 'm.room.redaction' && typeof e.content.redacts === 'string') {
      // A later redaction of an already redacted event is stored but does not replace the first
      // (Synapse serves the first row of its redactions table: unsigned.redacted_by stays put).
      await c.query('UPDATE events SET redacted_by = $1 WHERE event_id = $2 AND room_id = $3 AND redacted_by IS NULL', [e.event_id, e.content.redacts, e.room_id]);
    }
  }
}

/** One event by ID. */
export async function getEvent(q: Queryable, eventId: string): Promise<StoredEvent | undefined> {
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM events e WHERE e.event_id = $1`, [eventId]);
  return (await withRedactions(q, r.rows))[0];
}

/**
 * A prior send of this transaction, if any (idempotency): same `user|device|txnId` key, same room
 * and same endpoint scope (see EventDraft.txn_scope; migration 2 in schema-sql.ts).
 */
export async function eventByTxn(q: Queryable, txn: { key: string; room_id: string; scope: string }): Promise<StoredEvent | undefined> {
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM events e WHERE e.txn_key = $1 AND e.room_id = $2 AND e.txn_scope = $3`, [txn.key, txn.room_id, txn.scope]);
  return (await withRedactions(q, r.rows))[0];
}

/** Current state events of a room plus its max depth. */
export async function currentState(q: Queryable, roomId: string): Promise<{ events: StoredEvent[]; depth: number }> {
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM current_state cs JOIN events e ON e.event_id = cs.event_id WHERE cs.room_id = $1`, [roomId]);
  const d = await q.query<{ d: string | null }>('SELECT max(depth) AS d FROM events WHERE room_id = $1', [roomId]);
  return { events: await withRedactions(q, r.rows), depth: Number(d.rows[0]?.d ?? 0) };
}

/** State of a room at stream position `at` (inclusive). */
export async function stateAt(q: Queryable, roomId: string, at: number): Promise<StoredEvent[]> {
  const r = await q.query<EventRow>(
    `SELECT DISTINCT ON (e.type, e.state_key) ${COLS} FROM events e WHERE e.room_id = $1 AND e.state_key IS NOT NULL AND e.stream_ordering <= $2
     ORDER BY e.type, e.state_key, e.stream_ordering DESC`, [roomId, at]);
  return withRedactions(q, r.rows);
}

/** Events of a room in (from, to], newest first, at most `limit`. */
export async function roomEventsBackward(q: Queryable, roomId: string, below: number, above: number, limit: number): Promise<StoredEvent[]> {
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM events e WHERE e.room_id = $1 AND e.stream_ordering <= $2 AND e.stream_ordering > $3 ORDER BY e.stream_ordering DESC LIMIT $4`, [roomId, below, above, limit]);
  return withRedactions(q, r.rows);
}

/** Events of a room in (from, to], oldest first, at most `limit`. */
export async function roomEventsForward(q: Queryable, roomId: string, above: number, upTo: number, limit: number): Promise<StoredEvent[]> {
  const r = await q.query<EventRow>(`SELECT ${COLS} FROM events e WHERE e.room_id = $1 AND e.stream_ordering > $2 AND e.stream_ordering <= $3 ORDER BY e.stream_ordering ASC LIMIT $4`, [roomId, above, upTo, limit]);
  return withRedactions(q, r.rows);
}

/** A user's membership history in a room (for history visibility), oldest first. */
export async function membershipHistory(q: Queryable, roomId: string, userId: string): Promise<{ at: number; membership: string }[]> {
  const r = await q.query<{ stream_ordering: string; membership: string }>(
    `SELECT stream_ordering, membership FROM events WHERE room_id = $1 AND type = 'm.room.member' AND state_key = $2 ORDER BY stream_ordering`, [roomId, userId]);
  return r.rows.map((x) => ({ at: Number(x.stream_ordering), membership: x.membership }));
}

/** A room's history_visibility changes, oldest first. */
export async function visibilityHistory(q: Queryable, roomId: string): Promise<{ at: number; value: string }[]> {
  const r = await q.query<{ stream_ordering: string; v: string | null }>(
    `SELECT stream_ordering, content->>'history_visibility' AS v FROM events WHERE room_id = $1 AND type = 'm.room.history_visibility' AND state_key = '' ORDER BY stream_ordering`, [roomId]);
  return r.rows.map((x) => ({ at: Number(x.stream_ordering), value: x.v ?? 'shared' }));
}

/** Each room's latest membership of `userId` at or below `at`. */
export async function membershipsAt(q: Queryable, userId: string, at: number): Promise<{ room_id: string; membership: string; stream_ordering: number; event_id: string }[]> {
  const r = await q.query<{ room_id: string; membership: string; stream_ordering: string; event_id: string }>(
    `SELECT DISTINCT ON (room_id) room_id, membership, stream_ordering, event_id FROM events
     WHERE type = 'm.room.member' AND state_key = $1 AND stream_ordering <= $2 ORDER BY room_id, stream_ordering DESC`, [userId, at]);
  return r.rows.map((x) => ({ room_id: x.room_id, membership: x.membership, stream_ordering: Number(x.stream_ordering), event_id: x.event_id }));
}

/** Rooms (of `rooms`) with events in (from, to]. */
export async function roomsWithEvents(q: Queryable, rooms: readonly string[], from: number, to: number): Promise<Set<string>> {
  if (rooms.length === 0 || to <= from) return new Set();
  const r = await q.query<{ room_id: string }>('SELECT DISTINCT room_id FROM events WHERE stream_ordering > $1 AND stream_ordering <= $2 AND room_id = ANY($3)', [from, to, rooms]);
  return new Set(r.rows.map((x) => x.room_id));
}
