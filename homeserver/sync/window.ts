/**
 * Recent events per room, fed by replication rows (every process sees every events row), so an
 * incremental /sync can build a room's timeline without SQL — the idea behind Synapse's event
 * cache. A window is trusted only for ranges it provably covers: it starts at the first row seen
 * and must then see every row of the room in order (one persister per room commits them in order
 * and Redis delivers them in order). Anything that breaks that — a row out of order, a redaction
 * (which changes an earlier event), a replication gap (`clear`) — drops the room's window.
 */
import type { StoredEvent } from '../rooms/event.ts';

const PER_ROOM = 100;
const ROOMS = 20_000;

/** Recent events per room. */
export class RoomWindows {
  readonly #rooms = new Map<string, { from: number; events: StoredEvent[] }>();

  /** Adds a freshly persisted event (from an RDATA row). */
  add(e: StoredEvent): void {
    let w = this.#rooms.get(e.room_id);
    const last = w?.events[w.events.length - 1];
    if (last && e.stream_ordering <= last.stream_ordering) { this.#rooms.delete(e.room_id); return; }
    if (e.type === 'm.room.redaction') { this.#rooms.delete(e.room_id); return; }
    if (!w) {
      w = { from: e.stream_ordering - 1, events: [] };
      this.#rooms.set(e.room_id, w);
      if (this.#rooms.size > ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
    }
    w.events.push(e);
    if (w.events.length > PER_ROOM) w.from = w.events.shift()!.stream_ordering;
  }

  /** The room's events in (since, to], oldest first; undefined when the window cannot tell. */
  range(roomId: string, since: number, to: number): StoredEvent[] | undefined {
    const w = this.#rooms.get(roomId);
    if (!w || since < w.from) return undefined;
    return w.events.filter((e) => e.stream_ordering > since && e.stream_ordering <= to);
  }

  clear(): void {
    this.#rooms.clear();
  }
}

/** The events row announced over replication: the whole event, so readers need not query it. */
export function eventRow(e: StoredEvent): Record<string, unknown> {
  return {
    room_id: e.room_id, event_id: e.event_id, type: e.type, state_key: e.state_key, sender: e.sender, content: e.content,
    origin_server_ts: e.origin_server_ts, depth: e.depth, prev_content: e.prev_content ?? null, txn_key: e.txn_key ?? null,
  };
}

/** Back from a row to an event (`token` is its stream ordering); undefined if the row is partial. */
export function eventFromRow(token: number, row: Record<string, unknown>): StoredEvent | undefined {
  if (typeof row.room_id !== 'string' || typeof row.event_id !== 'string' || typeof row.type !== 'string' || typeof row.sender !== 'string') return undefined;
  if (row.content === null || typeof row.content !== 'object' || typeof row.origin_server_ts !== 'number') return undefined;
  return {
    event_id: row.event_id, room_id: row.room_id, type: row.type, sender: row.sender,
    state_key: typeof row.state_key === 'string' ? row.state_key : undefined,
    content: row.content as Record<string, unknown>, origin_server_ts: row.origin_server_ts, stream_ordering: token,
    depth: typeof row.depth === 'number' ? row.depth : 0, redacted_by: null,
    prev_content: (row.prev_content as Record<string, unknown> | null) ?? null, txn_key: typeof row.txn_key === 'string' ? row.txn_key : null,
  };
}
