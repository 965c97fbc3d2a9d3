/**
 * Wakes long-polling requests (sync) when something they care about becomes readable. Waiters
 * register keys (`u:@user`, `r:!room`); a stream's safe position advancing wakes the keys of the
 * rows that became readable, or everyone when the rows are unknown (after a replication gap).
 */
import type { StreamName } from '../config/deployment.ts';

interface Waiter {
  keys: readonly string[];
  wake(): void;
}

/** The rows a stream update carried, reduced to the keys they concern. */
export function keysOfRow(stream: StreamName, row: Record<string, unknown>): string[] {
  const keys: string[] = [];
  if (typeof row.room_id === 'string') keys.push(`r:${row.room_id}`);
  if (typeof row.user_id === 'string') keys.push(`u:${row.user_id}`);
  if (stream === 'events' && row.type === 'm.room.member' && typeof row.state_key === 'string') keys.push(`u:${row.state_key}`);
  if (stream === 'presence' || stream === 'device_lists') keys.push('*');
  return keys;
}

const HISTORY = 20_000;

/**
 * Key-indexed waiters plus a buffer of rows awaiting their stream's safe position, and a bounded
 * history of the keys of recently readable rows. The history lets /sync decide without a database
 * query that nothing in (since, to] concerns a user; it is trusted only from the position where it
 * became complete (start, or the last replication gap) onwards.
 */
export class Notifier {
  readonly #byKey = new Map<string, Set<Waiter>>();
  readonly #pending = new Map<StreamName, { token: number; keys: string[] }[]>();
  readonly #history = new Map<StreamName, { token: number; keys: string[] }[]>();
  readonly #completeFrom = new Map<StreamName, number>();
  readonly #evictedUpTo = new Map<StreamName, number>();

  /** Forget history: from now on it is complete only above `token` (start-up, gaps, reconnects). */
  resetHistory(token: Readonly<Record<StreamName, number>>): void {
    for (const [s, t] of Object.entries(token) as [StreamName, number][]) {
      this.#completeFrom.set(s, t);
      this.#evictedUpTo.set(s, t);
      this.#history.set(s, []);
    }
  }

  /**
   * True when, for every stream, history covers (since, to] and no row there carries one of
   * `keys` (or the wildcard); false when something does, or history cannot tell.
   */
  nothingFor(since: Readonly<Record<StreamName, number>>, to: Readonly<Record<StreamName, number>>, keys: ReadonlySet<string>): boolean {
    for (const [s, upTo] of Object.entries(to) as [StreamName, number][]) {
      const from = since[s];
      if (upTo <= from) continue;
      const complete = this.#completeFrom.get(s);
      if (complete === undefined || from < complete || from < (this.#evictedUpTo.get(s) ?? 0)) return false;
      const list = this.#history.get(s) ?? [];
      for (let i = list.length - 1; i >= 0 && list[i]!.token > from; i--) {
        if (list[i]!.token > upTo) continue;
        for (const k of list[i]!.keys) if (k === '*' || keys.has(k)) return false;
      }
    }
    return true;
  }

  /** Keys of `stream` rows in (from, to], or undefined when history cannot tell. */
  keysIn(stream: StreamName, from: number, to: number): Set<string> | undefined {
    const out = new Set<string>();
    if (to <= from) return out;
    const complete = this.#completeFrom.get(stream);
    if (complete === undefined || from < complete || from < (this.#evictedUpTo.get(stream) ?? 0)) return undefined;
    const list = this.#history.get(stream) ?? [];
    for (let i = list.length - 1; i >= 0 && list[i]!.token > from; i--) {
      if (list[i]!.token <= to) for (const k of list[i]!.keys) out.add(k);
    }
    return out;
  }

  #remember(stream: StreamName, token: number, keys: string[]): void {
    let list = this.#history.get(stream);
    if (!list) this.#history.set(stream, (list = []));
    list.push({ token, keys });
    if (list.length > HISTORY) {
      const gone = list.splice(0, list.length - HISTORY);
      this.#evictedUpTo.set(stream, Math.max(this.#evictedUpTo.get(stream) ?? 0, ...gone.map((g) => g.token)));
    }
  }

  /**
   * A row arrived after its stream's safe position had passed it (only after a replication gap):
   * wake its keys, and stop trusting history at or below `safe`, whose order it would break.
   */
  late(stream: StreamName, token: number, row: Record<string, unknown>, safe: number): void {
    this.#completeFrom.set(stream, Math.max(this.#completeFrom.get(stream) ?? 0, safe));
    for (const k of keysOfRow(stream, row)) k === '*' ? this.wakeAll() : this.wakeKey(k);
  }

  /** Waits until one of `keys` is woken, the timeout passes or the signal aborts. */
  wait(keys: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        keys,
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          for (const k of keys) this.#byKey.get(k)?.delete(waiter);
          resolve();
        },
      };
      for (const k of keys) {
        let set = this.#byKey.get(k);
        if (!set) this.#byKey.set(k, (set = new Set()));
        set.add(waiter);
      }
      timer = setTimeout(waiter.wake, timeoutMs);
      signal?.addEventListener('abort', waiter.wake, { once: true });
    });
  }

  /** Remembers a row until its stream's safe position covers it. */
  buffer(stream: StreamName, token: number, row: Record<string, unknown>): void {
    let list = this.#pending.get(stream);
    if (!list) this.#pending.set(stream, (list = []));
    list.push({ token, keys: keysOfRow(stream, row) });
  }

  /** The safe position of `stream` moved: wake the keys of rows in (from, to]. */
  advanced(stream: StreamName, _from: number, to: number): void {
    const list = this.#pending.get(stream);
    if (!list) return;
    const keys = new Set<string>();
    const keep: typeof list = [];
    const released: typeof list = [];
    for (const item of list) (item.token <= to ? released : keep).push(item);
    // Tokens in history ascend (nothingFor scans back from the newest): release in token order.
    released.sort((a, b) => a.token - b.token);
    for (const item of released) {
      for (const k of item.keys) keys.add(k);
      this.#remember(stream, item.token, item.keys);
    }
    this.#pending.set(stream, keep);
    if (keys.has('*')) return this.wakeAll();
    for (const k of keys) this.wakeKey(k);
  }

  wakeKey(key: string): void {
    const set = this.#byKey.get(key);
    if (set) for (const w of [...set]) w.wake();
  }

  /** Wakes every waiter (a gap or reconnect: we cannot tell whom new data concerns). */
  wakeAll(): void {
    for (const set of [...this.#byKey.values()]) for (const w of [...set]) w.wake();
  }

  /** Number of requests waiting (metrics, tests). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#byKey.values()) n += s.size;
    return n;
  }
}
