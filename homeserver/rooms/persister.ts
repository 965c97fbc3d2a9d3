/**
 * The event persister: the one process that writes a given room's events (its shard of
 * `stream_writers.events`). Per room it serialises sends (so depth, state and authorization are
 * decided against a state nobody else changes), authorizes each draft, allocates stream IDs from
 * the shared sequence, writes events and current state in one transaction, then announces the rows.
 */
import type pg from 'pg';
import type { ReplicationBus } from '../replication/bus.ts';
import { inTransaction } from '../storage/db.ts';
import { currentState, eventByTxn, getEvent, insertEvents, insertMessageEvent } from '../storage/events.ts';
import { MatrixError } from '../errors.ts';
import { authorize, repeatedMember } from './auth.ts';
import { newEventId, type EventDraft, type StoredEvent } from './event.ts';
import { RoomState } from './state.ts';
import { eventRow } from '../sync/window.ts';
import { runSerially } from '../serial.ts';

/** A batch of drafts for one room; `create` also inserts the rooms row (createRoom). */
export interface PersistRequest {
  room_id: string;
  drafts: EventDraft[];
  create?: { creator: string; room_version: string; is_public: boolean; alias?: string | undefined } | undefined;
}

/** Event IDs and stream positions, in draft order. */
export interface PersistResult {
  events: { event_id: string; stream_ordering: number }[];
}

/** The largest event content the spec allows (spec: "Size limits", 65536 bytes per event). */
const MAX_EVENT_BYTES = 65_536;
const CACHE_ROOMS = 5_000;

/** Persists events for the rooms this process owns. */
export class EventPersister {
  readonly #pool: pg.Pool;
  readonly #bus: ReplicationBus;
  readonly #instance: string;
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #states = new Map<string, RoomState>();

  constructor(pool: pg.Pool, bus: ReplicationBus, instance: string) {
    this.#pool = pool;
    this.#bus = bus;
    this.#instance = instance;
  }

  /** Persists a batch atomically (all or none) after authorizing every draft in order. */
  persist(req: PersistRequest): Promise<PersistResult> {
    return runSerially(this.#locks, req.room_id, () => this.#persistLocked(req));
  }

  async #persistLocked(req: PersistRequest): Promise<PersistResult> {
    const state = await this.#state(req.room_id);
    const working = req.drafts.some((d) => d.state_key !== undefined) ? state.clone() : state;
    const results: (StoredEvent | undefined)[] = [];
    const fresh: StoredEvent[] = [];
    let depth = state.depth;
    for (const draft of req.drafts) {
      // A key without its endpoint could never be found again (an older worker's draft, say): refuse it.
      if (draft.txn_key && !draft.txn_scope) throw new MatrixError('M_BAD_JSON', 'a draft with txn_key needs txn_scope (the endpoint the transaction ID was used on)');
      const size = Buffer.byteLength(JSON.stringify(draft.content));
      if (size > MAX_EVENT_BYTES) throw new MatrixError('M_TOO_LARGE', `event content is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`);
      const target = draft.type === 'm.room.redaction' && draft.redacts ? await getEvent(this.#pool, draft.redacts) : undefined;
      let same: StoredEvent | undefined;
      try {
        same = repeatedMember(draft, working);
        if (!same) authorize(draft, working, target && target.room_id === req.room_id ? target : undefined);
      } catch (err) {
        // A retried send whose first attempt succeeded returns that event, even if it would now fail.
        const prior = draft.txn_key && draft.txn_scope ? await eventByTxn(this.#pool, { key: draft.txn_key, room_id: req.room_id, scope: draft.txn_scope }) : undefined;
        if (prior && req.drafts.length === 1) return { events: [{ event_id: prior.event_id, stream_ordering: prior.stream_ordering }] };
        throw err;
      }
      if (same) {
        // The member event this draft repeats stands for it (Synapse answers a duplicate so too).
        results.push(same);
        continue;
      }
      const event = this.#build(req.room_id, draft, ++depth, working);
      if (event.state_key !== undefined) working.apply(event);
      fresh.push(event);
      results.push(event);
    }
    if (fresh.length > 0) {
      const dup = await this.#write(req, fresh, working, depth);
      if (dup) return { events: [{ event_id: dup.event_id, stream_ordering: dup.stream_ordering }] };
    }
    return { events: results.map((e) => ({ event_id: e!.event_id, stream_ordering: e!.stream_ordering })) };
  }

  #build(roomId: string, d: EventDraft, depth: number, state: RoomState): StoredEvent {
    const content = d.type === 'm.room.redaction' && d.redacts ? { ...d.content, redacts: d.redacts } : d.content;
    const prev = d.state_key !== undefined ? state.get(d.type, d.state_key)?.content : undefined;
    return {
      event_id: newEventId(), room_id: roomId, type: d.type, state_key: d.state_key, sender: d.sender, content,
      origin_server_ts: Date.now(), stream_ordering: 0, depth, txn_key: d.txn_key, txn_scope: d.txn_scope, prev_content: prev ?? null,
    };
  }

  /**
   * Allocates IDs and writes. A lone message event is one INSERT that takes its own stream ID
   * (atomic by itself: one round trip, where nextval then BEGIN/INSERT/COMMIT would be four);
   * anything touching state goes in a transaction. Returns the earlier event when the
   * transaction was already used (the unique index on (txn_key, room_id, txn_scope) decides races).
   */
  async #write(req: PersistRequest, events: StoredEvent[], state: RoomState, depth: number): Promise<StoredEvent | undefined> {
    const gen = this.#bus.writer('events');
    const single = !req.create && events.length === 1 && events[0]!.state_key === undefined && events[0]!.type !== 'm.room.redaction';
    let ids: number[] = [];
    try {
      if (single) {
        ids = await gen.allocateWith(async () => [await insertMessageEvent(this.#pool, events[0]!, this.#instance)]);
        events[0]!.stream_ordering = ids[0]!;
      } else {
        ids = await gen.allocate(events.length);
        events.forEach((e, i) => { e.stream_ordering = ids[i]!; });
        await inTransaction(this.#pool, async (c) => {
          if (req.create) await insertRoom(c, req.room_id, req.create);
          await insertEvents(c, events, this.#instance);
        });
      }
    } catch (err) {
      gen.finish(ids);
      const e = events.length === 1 ? events[0]! : undefined;
      if (e?.txn_key && e.txn_scope && (err as { constraint?: string }).constraint === 'events_txn') {
        return eventByTxn(this.#pool, { key: e.txn_key, room_id: e.room_id, scope: e.txn_scope });
      }
      this.#states.delete(req.room_id);
      throw translateDbError(err);
    }
    state.depth = depth;
    this.#remember(req.room_id, state);
    for (const e of events) this.#bus.rdata('events', e.stream_ordering, eventRow(e));
    gen.finish(ids);
    return undefined;
  }

  async #state(roomId: string): Promise<RoomState> {
    const cached = this.#states.get(roomId);
    if (cached) return cached;
    const { events, depth } = await currentState(this.#pool, roomId);
    const s = RoomState.from(events, depth);
    if (s.exists) this.#remember(roomId, s);
    return s;
  }

  #remember(roomId: string, s: RoomState): void {
    this.#states.delete(roomId);
    this.#states.set(roomId, s);
    if (this.#states.size > CACHE_ROOMS) this.#states.delete(this.#states.keys().next().value!);
  }
}

async function insertRoom(c: pg.PoolClient, roomId: string, create: NonNullable<PersistRequest['create']>): Promise<void> {
  await c.query('INSERT INTO rooms (room_id, creator, room_version, is_public, created_ts) VALUES ($1,$2,$3,$4,$5)', [roomId, create.creator, create.room_version, create.is_public, Date.now()]);
  if (create.alias) await c.query('INSERT INTO room_aliases (alias, room_id, creator) VALUES ($1,$2,$3)', [create.alias, roomId, create.creator]);
}

/** Unique violations on an alias mean the alias is taken (spec: createRoom 400 M_ROOM_IN_USE). */
function translateDbError(err: unknown): unknown {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505' && e.constraint === 'room_aliases_pkey') return new MatrixError('M_ROOM_IN_USE', 'room alias already taken');
  return err;
}
