/**
 * Writes to the single-writer streams (typing, receipts, to_device, account_data, presence,
 * device_lists) on the process `stream_writers` names for them. Each write allocates a stream ID,
 * stores the row, then announces it over replication; readers (sync) read the tables.
 */
import type pg from 'pg';
import type { StreamName } from '../config/deployment.ts';
import type { ReplicationBus } from '../replication/bus.ts';
import { inTransaction } from '../storage/db.ts';
import { runSerially } from '../serial.ts';

/** One write, tagged by stream. */
export type StreamOp =
  | { stream: 'typing'; room_id: string; user_id: string; typing: boolean; timeout?: number | undefined }
  | { stream: 'receipts'; room_id: string; receipt_type: string; user_id: string; event_id: string; data: Record<string, unknown> }
  | { stream: 'to_device'; sender: string; type: string; messages: Record<string, Record<string, unknown>>; txn?: { device_id: string; txn_id: string } | undefined }
  | { stream: 'account_data'; user_id: string; room_id: string; type: string; content: Record<string, unknown> }
  | { stream: 'presence'; user_id: string; presence: string; status_msg?: string | undefined }
  | { stream: 'device_lists'; user_id: string };

const MAX_TYPING_MS = 120_000;
/**
 * How long a sendToDevice transaction ID is remembered. The spec sets no lifetime; Synapse keeps
 * its transaction cache for 30 minutes. A day covers any client's retry loop.
 */
const TO_DEVICE_TXN_MS = 24 * 3600_000;
const TO_DEVICE_TXN_PRUNE_EVERY_MS = 10 * 60_000;

/** Performs StreamOps for the streams this process writes. */
export class LocalStreamWriter {
  readonly #pool: pg.Pool;
  readonly #bus: ReplicationBus;
  readonly #typing = new Map<string, Map<string, number>>();
  /** sendToDevice transactions being applied, by sender, sender device, event type and txnId. */
  readonly #toDeviceInFlight = new Map<string, Promise<unknown>>();
  readonly #timer: NodeJS.Timeout;
  #txnsPrunedAt = 0;

  constructor(pool: pg.Pool, bus: ReplicationBus) {
    this.#pool = pool;
    this.#bus = bus;
    this.#timer = setInterval(() => void this.#expireTyping(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Applies one op; returns the stream IDs used. */
  async apply(op: StreamOp): Promise<number[]> {
    switch (op.stream) {
      case 'typing': return this.#setTyping(op);
      case 'receipts':
        return this.#write(op.stream, 1, (c, [id]) => c.query(
          `INSERT INTO receipts (room_id, receipt_type, user_id, event_id, data, stream_id) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (room_id, receipt_type, user_id) DO UPDATE SET event_id = EXCLUDED.event_id, data = EXCLUDED.data, stream_id = EXCLUDED.stream_id`,
          [op.room_id, op.receipt_type, op.user_id, op.event_id, JSON.stringify(op.data), id]), { room_id: op.room_id });
      case 'to_device': return this.#toDevice(op);
      case 'account_data':
        return this.#write(op.stream, 1, (c, [id]) => c.query(
          `INSERT INTO account_data (user_id, room_id, type, content, stream_id) VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, stream_id = EXCLUDED.stream_id`,
          [op.user_id, op.room_id, op.type, JSON.stringify(op.content), id]), { user_id: op.user_id });
      case 'presence':
        return this.#write(op.stream, 1, (c, [id]) => c.query(
          `INSERT INTO presence (user_id, state, status_msg, last_active_ts, currently_active, stream_id) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (user_id) DO UPDATE SET state = EXCLUDED.state, status_msg = EXCLUDED.status_msg, last_active_ts = EXCLUDED.last_active_ts,
           currently_active = EXCLUDED.currently_active, stream_id = EXCLUDED.stream_id`,
          [op.user_id, op.presence, op.status_msg ?? null, Date.now(), op.presence === 'online', id]), { user_id: op.user_id });
      case 'device_lists':
        return this.#write(op.stream, 1, (c, [id]) => c.query('INSERT INTO device_lists_stream (stream_id, user_id) VALUES ($1,$2)', [id, op.user_id]), { user_id: op.user_id });
      default: {
        const never: never = op;
        throw new Error(`unknown stream op ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Allocates `n` IDs, runs `insert`, announces `row` under each ID, releases the IDs. An insert
   * that returns `false` wrote nothing (a replayed transaction): nothing is announced.
   */
  async #write(stream: StreamName, n: number, insert: (c: pg.Pool, ids: number[]) => Promise<unknown>, row: Record<string, unknown>, rows?: Record<string, unknown>[]): Promise<number[]> {
    const gen = this.#bus.writer(stream);
    const ids = await gen.allocate(n);
    try {
      if ((await insert(this.#pool, ids)) === false) return [];
      ids.forEach((id, i) => this.#bus.rdata(stream, id, rows?.[i] ?? row));
    } finally {
      gen.finish(ids);
    }
    return ids;
  }

  /**
   * A retry (same sender device, event type and txnId) is answered without a second delivery.
   * Workers send to_device writes to the stream's first writer, so a retry meets its first attempt
   * here: one arriving while that attempt is being applied waits for it, then finds its row. It
   * never allocates stream IDs that it would hold (and the stream's position with them) while
   * waiting on the first attempt's uncommitted row.
   */
  async #toDevice(op: Extract<StreamOp, { stream: 'to_device' }>): Promise<number[]> {
    const txn = op.txn;
    if (!txn) return this.#deliverToDevice(op);
    const key = JSON.stringify([op.sender, txn.device_id, op.type, txn.txn_id]);
    return runSerially(this.#toDeviceInFlight, key, () => this.#deliverToDevice(op));
  }

  async #deliverToDevice(op: Extract<StreamOp, { stream: 'to_device' }>): Promise<number[]> {
    const txn = op.txn;
    // The check before allocating answers a retry cheaply; the txn row inserted in the same
    // transaction as the inbox rows decides any retry that got past it (one applied by another
    // process listed as a to_device writer) and is never left behind by a delivery that failed.
    if (txn && await this.#toDeviceTxnSeen(op.sender, op.type, txn)) return [];
    const targets: { user: string; device: string; content: unknown }[] = [];
    for (const [user, devices] of Object.entries(op.messages)) {
      for (const [device, content] of Object.entries(devices)) {
        if (device !== '*') { targets.push({ user, device, content }); continue; }
        const r = await this.#pool.query<{ device_id: string }>('SELECT device_id FROM devices WHERE user_id = $1', [user]);
        for (const d of r.rows) targets.push({ user, device: d.device_id, content });
      }
    }
    if (targets.length === 0) {
      // Nothing to deliver (no messages, or only users without devices), but the transaction is
      // used: its retry must not deliver to devices that appeared since.
      if (txn) await claimToDeviceTxn(this.#pool, op.sender, op.type, txn);
      return [];
    }
    return this.#write('to_device', targets.length, (pool, ids) => inTransaction(pool, async (c) => {
      if (txn && !(await claimToDeviceTxn(c, op.sender, op.type, txn))) return false;
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        await c.query('INSERT INTO device_inbox (stream_id, user_id, device_id, message) VALUES ($1,$2,$3,$4)',
          [ids[i], t.user, t.device, JSON.stringify({ sender: op.sender, type: op.type, content: t.content })]);
      }
      return true;
    }), {}, targets.map((t) => ({ user_id: t.user })));
  }

  async #toDeviceTxnSeen(userId: string, type: string, txn: { device_id: string; txn_id: string }): Promise<boolean> {
    const now = Date.now();
    if (now - this.#txnsPrunedAt > TO_DEVICE_TXN_PRUNE_EVERY_MS) {
      this.#txnsPrunedAt = now;
      await this.#pool.query('DELETE FROM to_device_txns WHERE created_ts < $1', [now - TO_DEVICE_TXN_MS]);
    }
    const r = await this.#pool.query('SELECT 1 FROM to_device_txns WHERE user_id = $1 AND device_id = $2 AND event_type = $3 AND txn_id = $4',
      [userId, txn.device_id, type, txn.txn_id]);
    return r.rowCount !== 0;
  }

  async #setTyping(op: Extract<StreamOp, { stream: 'typing' }>): Promise<number[]> {
    let room = this.#typing.get(op.room_id);
    if (!room) this.#typing.set(op.room_id, (room = new Map()));
    const was = room.has(op.user_id);
    if (op.typing) room.set(op.user_id, Date.now() + Math.min(op.timeout ?? 30_000, MAX_TYPING_MS));
    else room.delete(op.user_id);
    if (was === op.typing && op.typing) return [];
    return this.#writeTyping(op.room_id);
  }

  #writeTyping(roomId: string): Promise<number[]> {
    const users = [...(this.#typing.get(roomId)?.keys() ?? [])];
    return this.#write('typing', 1, (c, [id]) => c.query('INSERT INTO typing_stream (stream_id, room_id, user_ids) VALUES ($1,$2,$3)', [id, roomId, JSON.stringify(users)]), { room_id: roomId });
  }

  async #expireTyping(): Promise<void> {
    const now = Date.now();
    for (const [roomId, users] of this.#typing) {
      let changed = false;
      for (const [u, until] of users) if (until <= now) { users.delete(u); changed = true; }
      if (changed) await this.#writeTyping(roomId).catch(() => undefined);
      if (users.size === 0) this.#typing.delete(roomId);
    }
  }
}

/** Records a sendToDevice transaction; false when it was already recorded (a retry). */
async function claimToDeviceTxn(q: pg.Pool | pg.PoolClient, sender: string, type: string, txn: { device_id: string; txn_id: string }): Promise<boolean> {
  const r = await q.query(
    'INSERT INTO to_device_txns (user_id, device_id, event_type, txn_id, created_ts) VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING',
    [sender, txn.device_id, type, txn.txn_id, Date.now()]);
  return r.rowCount !== 0;
}
