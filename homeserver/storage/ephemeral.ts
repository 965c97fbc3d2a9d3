/**
 * SQL reads for the single-writer streams, each bounded by a (from, to] range of stream IDs so a
 * sync response never includes rows beyond its own next_batch token.
 */
import type { Queryable } from './db.ts';

type Range = { from: number; to: number };

/** Latest typing list per room, for rooms whose typing changed in the range. */
export async function typingIn(q: Queryable, rooms: readonly string[], r: Range): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (rooms.length === 0 || r.to <= r.from) return out;
  const res = await q.query<{ room_id: string; user_ids: string[] }>(
    `SELECT DISTINCT ON (room_id) room_id, user_ids FROM typing_stream WHERE room_id = ANY($1) AND stream_id > $2 AND stream_id <= $3 ORDER BY room_id, stream_id DESC`,
    [rooms, r.from, r.to]);
  for (const row of res.rows) out.set(row.room_id, row.user_ids);
  return out;
}

/** m.receipt content per room for receipts written in the range. */
export async function receiptsIn(q: Queryable, rooms: readonly string[], r: Range): Promise<Map<string, Record<string, Record<string, Record<string, unknown>>>>> {
  const out = new Map<string, Record<string, Record<string, Record<string, unknown>>>>();
  if (rooms.length === 0 || r.to <= r.from) return out;
  const res = await q.query<{ room_id: string; receipt_type: string; user_id: string; event_id: string; data: Record<string, unknown> }>(
    'SELECT room_id, receipt_type, user_id, event_id, data FROM receipts WHERE room_id = ANY($1) AND stream_id > $2 AND stream_id <= $3', [rooms, r.from, r.to]);
  for (const row of res.rows) {
    const content = out.get(row.room_id) ?? {};
    const byType = (content[row.event_id] ??= {});
    ((byType[row.receipt_type] ??= {}) as Record<string, unknown>)[row.user_id] = row.data;
    out.set(row.room_id, content);
  }
  return out;
}

/** Account data of a user written in the range, keyed by room ('' = global). */
export async function accountDataIn(q: Queryable, userId: string, r: Range): Promise<Map<string, { type: string; content: unknown }[]>> {
  const out = new Map<string, { type: string; content: unknown }[]>();
  if (r.to <= r.from) return out;
  const res = await q.query<{ room_id: string; type: string; content: unknown }>(
    'SELECT room_id, type, content FROM account_data WHERE user_id = $1 AND stream_id > $2 AND stream_id <= $3', [userId, r.from, r.to]);
  for (const row of res.rows) out.set(row.room_id, [...(out.get(row.room_id) ?? []), { type: row.type, content: row.content }]);
  return out;
}

/** To-device messages for a device in the range (oldest first), after deleting acknowledged ones. */
export async function toDeviceIn(q: Queryable, userId: string, deviceId: string, r: Range, limit: number, deleteAcked: boolean): Promise<{ stream_id: number; message: unknown }[]> {
  if (deleteAcked && r.from > 0) await q.query('DELETE FROM device_inbox WHERE user_id = $1 AND device_id = $2 AND stream_id <= $3', [userId, deviceId, r.from]);
  if (r.to <= r.from) return [];
  const res = await q.query<{ stream_id: string; message: unknown }>(
    'SELECT stream_id, message FROM device_inbox WHERE user_id = $1 AND device_id = $2 AND stream_id > $3 AND stream_id <= $4 ORDER BY stream_id LIMIT $5',
    [userId, deviceId, r.from, r.to, limit]);
  return res.rows.map((x) => ({ stream_id: Number(x.stream_id), message: x.message }));
}

/** Presence of the user and of users sharing a joined room with them, changed in the range. */
export async function presenceIn(q: Queryable, userId: string, rooms: readonly string[], r: Range): Promise<{ user_id: string; state: string; status_msg: string | null; last_active_ts: string; currently_active: boolean }[]> {
  if (r.to <= r.from) return [];
  const res = await q.query<{ user_id: string; state: string; status_msg: string | null; last_active_ts: string; currently_active: boolean }>(
    `SELECT user_id, state, status_msg, last_active_ts, currently_active FROM presence WHERE stream_id > $1 AND stream_id <= $2
     AND (user_id = $3 OR user_id IN (SELECT state_key FROM current_state WHERE type = 'm.room.member' AND membership = 'join' AND room_id = ANY($4)))`,
    [r.from, r.to, userId, rooms]);
  return res.rows;
}

/** Users sharing a room with the user whose device lists changed in the range. */
export async function deviceListChanges(q: Queryable, rooms: readonly string[], userId: string, r: Range): Promise<string[]> {
  if (r.to <= r.from) return [];
  const res = await q.query<{ user_id: string }>(
    `SELECT DISTINCT user_id FROM device_lists_stream WHERE stream_id > $1 AND stream_id <= $2
     AND (user_id = $3 OR user_id IN (SELECT state_key FROM current_state WHERE type = 'm.room.member' AND membership = 'join' AND room_id = ANY($4)))`,
    [r.from, r.to, userId, rooms]);
  return res.rows.map((x) => x.user_id);
}

/** Count of one-time keys per algorithm for a device. */
export async function oneTimeKeyCounts(q: Queryable, userId: string, deviceId: string): Promise<Record<string, number>> {
  const res = await q.query<{ algorithm: string; n: string }>('SELECT algorithm, count(*) AS n FROM e2e_one_time_keys WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm', [userId, deviceId]);
  return Object.fromEntries(res.rows.map((x) => [x.algorithm, Number(x.n)]));
}
