/**
 * Sending and reading room events (spec: "Sending events to a room", "Getting events for a room",
 * "Redactions"): send with per-device transaction IDs, state PUT/GET (state keys may contain
 * slashes), redact, event GET, and /messages pagination in both directions.
 */
import { type Homeserver, sendEvents } from '../context.ts';
import { badJson, invalidParam, notFound } from '../errors.ts';
import { requester, type RequestContext, type Requester, type RouteDef } from '../http/types.ts';
import { toClient, type EventDraft } from '../rooms/event.ts';
import { readableState } from '../rooms/access.ts';
import { canSee, filterVisible, loadVisibility } from '../rooms/visibility.ts';
import { matches, parseFilter, type EventFilter } from '../rooms/filter.ts';
import { eventByTxn, getEvent, roomEventsBackward, roomEventsForward } from '../storage/events.ts';
import { parseStreamToken } from '../streams/token.ts';
import { RateLimiter } from '../ratelimit.ts';
import { runSerially } from '../serial.ts';

/** Routes of this module. */
export function eventRoutes(hs: Homeserver): RouteDef[] {
  const rc = hs.config.rc_message;
  const limiter = rc ? new RateLimiter(rc.per_second, rc.burst_count) : undefined;
  const limitedSend = async (hs: Homeserver, c: RequestContext, d: Omit<EventDraft, 'sender'>, txn?: string) => {
    if (limiter) {
      // A retry of a transaction that was already sent is answered from it, not limited (the
      // spec's idempotency holds whatever the rate; Synapse's transaction cache also answers first).
      // Only when limiting: otherwise the persister's unique index answers the retry at no extra cost.
      const prior = txn !== undefined ? await eventByTxn(hs.pool, { ...transaction(requester(c), txn, d.type), room_id: c.params.room! }) : undefined;
      if (prior) return { body: { event_id: prior.event_id } };
      limiter.take(requester(c).userId);
    }
    return sendOne(hs, c, d, txn);
  };
  // Sends with a transaction ID in progress on this process, by room, endpoint and `user|device|txnId`.
  const inFlight = new Map<string, Promise<unknown>>();
  const send = async (hs: Homeserver, c: RequestContext, d: Omit<EventDraft, 'sender'>, txn?: string) => {
    if (txn === undefined) return limitedSend(hs, c, d);
    // A retry that arrives while an attempt of its transaction is still running here waits for it,
    // then is answered like any retry (from the event it sent, before the limiter), as Synapse's
    // transaction cache does; were it to run alongside, it could find no event yet and be rate-limited
    // (or, unlimited, build an event for the unique index to discard). Retries on other processes
    // are still decided by the persister.
    const t = transaction(requester(c), txn, d.type);
    return runSerially(inFlight, JSON.stringify([c.params.room!, t.scope, t.key]), () => limitedSend(hs, c, d, txn));
  };
  const r = (method: RouteDef['method'], path: string, handler: RouteDef['handler']): RouteDef => ({ method, path, auth: 'user', placement: 'any', handler });
  return [
    r('PUT', '/_matrix/client/{v}/rooms/:room/send/:type/:txn', (c) => send(hs, c, { type: c.params.type!, content: c.body }, c.params.txn)),
    r('PUT', '/_matrix/client/{v}/rooms/:room/state/:type/*key', (c) => send(hs, c, { type: c.params.type!, content: c.body, state_key: c.params.key ?? '' })),
    r('PUT', '/_matrix/client/{v}/rooms/:room/redact/:event/:txn', (c) => redact(hs, c)),
    r('POST', '/_matrix/client/{v}/rooms/:room/redact/:event', (c) => redact(hs, c)),
    r('GET', '/_matrix/client/{v}/rooms/:room/state', (c) => allState(hs, c)),
    r('GET', '/_matrix/client/{v}/rooms/:room/state/:type/*key', (c) => oneState(hs, c)),
    r('GET', '/_matrix/client/{v}/rooms/:room/event/:event', (c) => oneEvent(hs, c)),
    r('GET', '/_matrix/client/{v}/rooms/:room/messages', (c) => messages(hs, c)),
  ];
}

/**
 * Spec "Transaction identifiers": scoped to the device and the HTTP endpoint. The room is its own
 * column; the scope names the rest of the path (send/{type} or redact/{eventId}).
 */
function transaction(me: Requester, txn: string, type: string, redacts?: string): { key: string; scope: string } {
  return { key: `${me.userId}|${me.deviceId}|${txn}`, scope: redacts !== undefined ? `redact ${redacts}` : `send ${type}` };
}

async function sendOne(hs: Homeserver, c: RequestContext, d: Omit<EventDraft, 'sender'>, txn?: string, redacts?: string) {
  const me = requester(c);
  const draft: EventDraft = { ...d, sender: me.userId, redacts };
  if (txn !== undefined) {
    const t = transaction(me, txn, d.type, redacts);
    draft.txn_key = t.key;
    draft.txn_scope = t.scope;
  }
  const res = await sendEvents(hs, { room_id: c.params.room!, drafts: [draft] });
  return { body: { event_id: res.events[0]!.event_id } };
}

async function redact(hs: Homeserver, c: RequestContext) {
  const content = typeof c.body.reason === 'string' ? { reason: c.body.reason } : {};
  return sendOne(hs, c, { type: 'm.room.redaction', content }, c.params.txn, c.params.event);
}

async function allState(hs: Homeserver, c: RequestContext) {
  const { state } = await readableState(hs, c.params.room!, requester(c).userId);
  const now = Date.now();
  return { body: [...state.events.values()].map((e) => toClient(e, now)) };
}

async function oneState(hs: Homeserver, c: RequestContext) {
  const { state } = await readableState(hs, c.params.room!, requester(c).userId);
  const e = state.get(c.params.type!, c.params.key ?? '');
  if (!e) throw notFound('Event not found.');
  // The client format applies redaction: a redacted state event's content is what the redaction
  // algorithm keeps, as in GET /state and /sync (the stored content is the original).
  const ev = toClient(e, Date.now());
  return { body: c.query.get('format') === 'event' ? ev : ev.content };
}

async function oneEvent(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  await readableState(hs, c.params.room!, me);
  const e = await getEvent(hs.pool, c.params.event!);
  if (!e || e.room_id !== c.params.room) throw notFound('Event not found.');
  if (!canSee(await loadVisibility(hs.pool, e.room_id, me), e)) throw notFound('Event not found.');
  return { body: toClient(e, Date.now(), `${me}|${requester(c).deviceId}`) };
}

/** Parses `from`/`to`: a sync token's events part or an `s<n>` position. */
function position(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const t = parseStreamToken(v);
  if (!t) throw invalidParam(`invalid pagination token ${JSON.stringify(v)}`);
  return t.events;
}

async function messages(hs: Homeserver, c: RequestContext) {
  const me = requester(c);
  const roomId = c.params.room!;
  const { upTo, state } = await readableState(hs, roomId, me.userId);
  const dir = c.query.get('dir') ?? 'b';
  if (dir !== 'b' && dir !== 'f') throw invalidParam('dir must be b or f');
  const limit = Math.min(Math.max(Number(c.query.get('limit') ?? 10) || 10, 1), 1000);
  let filter: EventFilter | undefined;
  const rawFilter = c.query.get('filter');
  if (rawFilter) {
    try { filter = parseFilter(JSON.parse(rawFilter)).room?.timeline ?? (JSON.parse(rawFilter) as EventFilter); } catch (err) { throw err instanceof SyntaxError ? badJson('filter is not JSON') : err; }
  }
  const safe = Math.min(hs.positions.safe('events'), upTo);
  const from = Math.min(position(c.query.get('from')) ?? (dir === 'b' ? safe : 0), safe);
  const to = position(c.query.get('to'));
  const vis = await loadVisibility(hs.pool, roomId, me.userId);
  // One more than asked for tells whether any event is left after this page (spec: `end` is
  // omitted when there are no further events, so a page that ends exactly at the last has none).
  const fetched = dir === 'b'
    ? await roomEventsBackward(hs.pool, roomId, from, to ?? 0, limit + 1)
    : await roomEventsForward(hs.pool, roomId, from, Math.min(to ?? safe, safe), limit + 1);
  const more = fetched.length > limit;
  const raw = more ? fetched.slice(0, limit) : fetched;
  const visible = filterVisible(vis, raw).filter((e) => matches(filter, e));
  const now = Date.now();
  const txnFor = `${me.userId}|${me.deviceId}`;
  const body: Record<string, unknown> = { chunk: visible.map((e) => toClient(e, now, txnFor)), start: `s${from}` };
  if (filter?.lazy_load_members) {
    // Lazy-loading members: the chunk senders' member events. Simplification: their membership in
    // the state the requester can read (current, or at their leave), not the state at each event
    // as Synapse returns (no per-event state lookup here).
    const senders = new Set(visible.map((e) => e.sender));
    body.state = [...senders].flatMap((s) => { const m = state.get('m.room.member', s); return m ? [toClient(m, now)] : []; });
  }
  if (more) {
    const last = raw[raw.length - 1]!.stream_ordering;
    body.end = `s${dir === 'b' ? last - 1 : last}`;
  }
  return { body };
}
