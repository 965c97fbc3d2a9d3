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

/** Key-indexed waiters plus a buffer of rows awaiting their stream's safe position. */
export class Notifier {
  readonly #byKey = new Map<string, Set<Waiter>>();
  readonly #pending = new Map<StreamName, { token: number; keys: string[] }[]>();

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
    for (const item of list) {
      if (item.token <= to) for (const k of item.keys) keys.add(k);
      else keep.push(item);
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
