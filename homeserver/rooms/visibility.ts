/**
 * History visibility (spec: Client-Server API "History visibility", and Synapse's
 * filter_events_for_client): whether a user may see an event depends on the room's
 * m.room.history_visibility in force before the event and on the user's membership at the event.
 *   world_readable: everyone; shared: members at the event, and anyone joined now;
 *   invited: members and invitees at the event; joined: members at the event only.
 * Whatever the setting, a user sees their own membership events (see canSee for how this differs
 * from Synapse): without that, the leave or kick that ended their membership is hidden from the
 * leave section of /sync and from /messages, since their membership at it is already `leave`.
 */
import type { Queryable } from '../storage/db.ts';
import { membershipHistory, visibilityHistory } from '../storage/events.ts';
import type { StoredEvent } from './event.ts';

/** What a visibility decision needs, loaded once per (user, room). */
export interface VisibilityContext {
  userId: string;
  memberships: { at: number; membership: string }[];
  visibilities: { at: number; value: string }[];
  currentMembership: string | undefined;
}

/** Loads the user's membership history and the room's visibility history. */
export async function loadVisibility(q: Queryable, roomId: string, userId: string): Promise<VisibilityContext> {
  const [memberships, visibilities] = await Promise.all([membershipHistory(q, roomId, userId), visibilityHistory(q, roomId)]);
  return { userId, memberships, visibilities, currentMembership: memberships.at(-1)?.membership };
}

function lastAt<T extends { at: number }>(list: readonly T[], at: number, inclusive: boolean): T | undefined {
  let found: T | undefined;
  for (const x of list) if (inclusive ? x.at <= at : x.at < at) found = x; else break;
  return found;
}

/**
 * Whether the user may see `event`. A user always sees their own membership events, so the leave,
 * kick or ban that ended their membership reaches them. Synapse's filter is narrower (an own
 * leave only after a join or invite; otherwise the more joined of the old and new membership),
 * which differs only for memberships the user never held, e.g. a ban before ever joining.
 */
export function canSee(ctx: VisibilityContext, event: Pick<StoredEvent, 'stream_ordering' | 'type' | 'state_key'>): boolean {
  if (event.type === 'm.room.member' && event.state_key === ctx.userId) return true;
  const hv = lastAt(ctx.visibilities, event.stream_ordering, false)?.value ?? 'shared';
  if (hv === 'world_readable') return true;
  const m = lastAt(ctx.memberships, event.stream_ordering, true)?.membership;
  if (m === 'join') return true;
  if (hv === 'shared' && ctx.currentMembership === 'join') return true;
  if (hv === 'invited' && m === 'invite') return true;
  if (hv !== 'joined' && hv !== 'invited' && hv !== 'shared') return false;
  return false;
}

/** Filters a list of events to those the user may see. */
export function filterVisible<E extends Pick<StoredEvent, 'stream_ordering' | 'type' | 'state_key'>>(ctx: VisibilityContext, events: readonly E[]): E[] {
  return events.filter((e) => canSee(ctx, e));
}
