/**
 * A room's state as a map from (type, state_key) to event, with the questions the auth rules and
 * the API ask of it: membership, power levels, join rule, history visibility.
 */
import type { StoredEvent } from './event.ts';

/** Membership values (spec: m.room.member). */
export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

/** Power-level defaults when a room has no m.room.power_levels (spec: m.room.power_levels). */
interface PowerLevels {
  users: Record<string, number>;
  users_default: number;
  events: Record<string, number>;
  events_default: number;
  state_default: number;
  ban: number;
  kick: number;
  redact: number;
  invite: number;
}

/** Key of a state entry. */
export const stateKey = (type: string, key: string): string => `${type}\u0000${key}`;

/** A room's state. Copy before mutating if the original must stay intact. */
export class RoomState {
  readonly events = new Map<string, StoredEvent>();
  depth = 0;

  static from(events: Iterable<StoredEvent>, depth = 0): RoomState {
    const s = new RoomState();
    for (const e of events) s.apply(e);
    s.depth = depth;
    return s;
  }

  clone(): RoomState {
    const s = RoomState.from(this.events.values(), this.depth);
    return s;
  }

  apply(e: StoredEvent): void {
    if (e.state_key !== undefined && e.state_key !== null) this.events.set(stateKey(e.type, e.state_key), e);
    if (e.depth > this.depth) this.depth = e.depth;
  }

  get(type: string, key = ''): StoredEvent | undefined {
    return this.events.get(stateKey(type, key));
  }

  membership(userId: string): Membership | undefined {
    return this.get('m.room.member', userId)?.content.membership as Membership | undefined;
  }

  get exists(): boolean {
    return this.get('m.room.create') !== undefined;
  }

  get joinRule(): string {
    return String(this.get('m.room.join_rules')?.content.join_rule ?? 'invite');
  }

  get historyVisibility(): string {
    return String(this.get('m.room.history_visibility')?.content.history_visibility ?? 'shared');
  }

  /** Power levels with the spec's defaults filled in (the creator has 100 when no PL event exists). */
  get powerLevels(): PowerLevels {
    const c = this.get('m.room.power_levels')?.content;
    const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : d);
    if (!c) {
      const creator = this.get('m.room.create')?.sender;
      return { users: creator ? { [creator]: 100 } : {}, users_default: 0, events: {}, events_default: 0, state_default: 0, ban: 50, kick: 50, redact: 50, invite: 0 };
    }
    return {
      users: (c.users as Record<string, number> | undefined) ?? {},
      users_default: num(c.users_default, 0),
      events: (c.events as Record<string, number> | undefined) ?? {},
      events_default: num(c.events_default, 0),
      state_default: num(c.state_default, 50),
      ban: num(c.ban, 50), kick: num(c.kick, 50), redact: num(c.redact, 50), invite: num(c.invite, 0),
    };
  }

  userLevel(userId: string): number {
    const pl = this.powerLevels;
    return pl.users[userId] ?? pl.users_default;
  }

  /** Level needed to send an event of `type` (state or not). */
  requiredLevel(type: string, isState: boolean): number {
    const pl = this.powerLevels;
    return pl.events[type] ?? (isState ? pl.state_default : pl.events_default);
  }

  /** Users whose membership is `m`. */
  members(m: Membership = 'join'): string[] {
    const out: string[] = [];
    for (const e of this.events.values()) if (e.type === 'm.room.member' && e.content.membership === m && e.state_key) out.push(e.state_key);
    return out;
  }
}
