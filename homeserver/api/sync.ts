/**
 * GET /sync with long-polling (spec: "Syncing"), and the filter API. The loop: compute against the
 * current safe token; if nothing is new, wait on the notifier for the user's keys (woken by
 * replication within milliseconds of a commit on any process), then compute again, until the
 * timeout passes.
 */
import type { Homeserver } from '../context.ts';
import { forbidden, invalidParam, notFound, badJson } from '../errors.ts';
import { requester, type RequestContext, type RouteDef } from '../http/types.ts';
import { parseFilter, type Filter } from '../rooms/filter.ts';
import { buildSync } from '../sync/builder.ts';
import { currentToken, formatStreamToken, isAhead, parseStreamToken, type StreamToken } from '../streams/token.ts';

const MAX_TIMEOUT_MS = 120_000;

/** Routes of this module. */
export function syncRoutes(hs: Homeserver): RouteDef[] {
  return [
    { method: 'GET', path: '/_matrix/client/{v3}/sync', auth: 'user', placement: 'any', handler: (c) => sync(hs, c) },
    { method: 'POST', path: '/_matrix/client/{v3}/user/:user/filter', auth: 'user', placement: 'any', handler: (c) => createFilter(hs, c) },
    { method: 'GET', path: '/_matrix/client/{v3}/user/:user/filter/:id', auth: 'user', placement: 'any', handler: (c) => getFilter(hs, c) },
  ];
}

/** A sync filter, parsed once per distinct text or stored ID (Caches.filters). */
async function loadFilter(hs: Homeserver, userId: string, raw: string | null): Promise<Filter> {
  if (!raw) return {};
  const key = raw.startsWith('{') ? raw : `${userId}|${raw}`;
  return hs.caches.filters.get(key, () => parseOrLoadFilter(hs, userId, raw));
}

async function parseOrLoadFilter(hs: Homeserver, userId: string, raw: string): Promise<Filter> {
  if (raw.startsWith('{')) {
    try { return parseFilter(JSON.parse(raw)); } catch (err) { throw err instanceof SyntaxError ? badJson('filter is not valid JSON') : err; }
  }
  if (!/^\d+$/.test(raw)) throw invalidParam('invalid filter ID');
  const r = await hs.pool.query<{ filter: unknown }>('SELECT filter FROM user_filters WHERE filter_id = $1 AND user_id = $2', [raw, userId]);
  if (!r.rows[0]) throw notFound('No such filter');
  return parseFilter(r.rows[0].filter);
}

async function sync(hs: Homeserver, c: RequestContext) {
  const who = requester(c);
  const filter = await loadFilter(hs, who.userId, c.query.get('filter'));
  const sinceRaw = c.query.get('since');
  let since: StreamToken | undefined;
  if (sinceRaw) {
    since = parseStreamToken(sinceRaw);
    if (!since) throw invalidParam('invalid since token');
  }
  const fullState = c.query.get('full_state') === 'true';
  const timeout = Math.min(Math.max(Number(c.query.get('timeout') ?? 0) || 0, 0), MAX_TIMEOUT_MS);
  const deadline = Date.now() + timeout;
  let joined: string[] | undefined;
  for (;;) {
    const to = currentToken(hs.positions);
    const known = hs.caches.syncRooms.get(who.userId);
    const usable = since !== undefined && !fullState && known !== undefined && since.events <= known.at;
    if (usable && isAhead(to, since!) && hs.notifier.nothingFor(since!, to, keysOf(who.userId, known!.rooms))) {
      // Nothing in (since, to] concerns this user (notifier history): skip the queries, move on.
      // No membership change in that range either, so the room list stays valid up to `to`.
      known!.at = Math.max(known!.at, to.events);
      since = to;
      joined = known!.rooms;
    }
    // No `u:` row in range: the room list is still valid, and memberships need no query.
    const hint = usable && hs.notifier.nothingFor(since!, to, new Set([`u:${who.userId}`])) ? { joined: known!.rooms } : undefined;
    if (since && !fullState && !isAhead(to, since) && joined !== undefined) {
      if (!(await waitFor(hs, who.userId, joined, to, deadline, c.signal))) return { body: emptyBody(to) };
      continue;
    }
    const res = await buildSync(hs, who, since, to, filter, fullState, hint);
    // Remember the room list after every build, not only empty ones: the client's next request
    // starts at this `to`, so a busy user's next sync can skip the membership query too.
    rememberRooms(hs, who.userId, res.allJoined, to.events);
    if (!since || fullState || !res.empty || Date.now() >= deadline || c.signal.aborted) return { body: res.body };
    joined = res.joinedRooms;
    since = to;
    if (!(await waitFor(hs, who.userId, joined, to, deadline, c.signal))) return { body: emptyBody(to) };
  }
}

/** Records the user's joined rooms as of events position `at` (see Caches.syncRooms). */
function rememberRooms(hs: Homeserver, userId: string, rooms: string[], at: number): void {
  const m = hs.caches.syncRooms;
  m.delete(userId);
  m.set(userId, { rooms, at });
  if (m.size > 100_000) m.delete(m.keys().next().value!);
}

function keysOf(userId: string, rooms: readonly string[]): Set<string> {
  return new Set([`u:${userId}`, ...rooms.map((r) => `r:${r}`)]);
}

/** Waits for a wake-up; false when the deadline passed (or the client left) without one. */
async function waitFor(hs: Homeserver, userId: string, rooms: readonly string[], seen: StreamToken, deadline: number, signal: AbortSignal): Promise<boolean> {
  const remaining = deadline - Date.now();
  if (remaining <= 0 || signal.aborted) return false;
  const p = hs.notifier.wait([...keysOf(userId, rooms)], remaining, signal);
  // Close the race between computing and waiting: anything that moved meanwhile wakes us now.
  if (isAhead(currentToken(hs.positions), seen)) hs.notifier.wakeKey(`u:${userId}`);
  await p;
  return Date.now() < deadline && !signal.aborted;
}

function emptyBody(to: StreamToken) {
  return {
    next_batch: formatStreamToken(to),
    rooms: { join: {}, invite: {}, leave: {}, knock: {} },
    account_data: { events: [] }, to_device: { events: [] }, presence: { events: [] },
    device_lists: { changed: [], left: [] }, device_one_time_keys_count: {},
  };
}

async function createFilter(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  if (c.params.user !== me) throw forbidden('Cannot create filters for other users');
  const f = parseFilter(c.body);
  const r = await hs.pool.query<{ filter_id: string }>('INSERT INTO user_filters (user_id, filter) VALUES ($1, $2) RETURNING filter_id', [me, JSON.stringify(f)]);
  return { body: { filter_id: r.rows[0]!.filter_id } };
}

async function getFilter(hs: Homeserver, c: RequestContext) {
  const me = requester(c).userId;
  if (c.params.user !== me) throw forbidden('Cannot read filters of other users');
  return { body: await loadFilter(hs, me, c.params.id!) };
}
