/**
 * The request loop shared by the scenarios: `connections` workers issue requests back to back
 * (closed loop), or, with a rate, at scheduled times spread evenly over the run (open loop, so a
 * slow target cannot lower the offered load — the coordinated-omission trap wrk falls into).
 * Bounded: no request starts after the deadline, anything still in flight `graceMs` later is
 * aborted, and the loop returns by then even if a request ignores the abort.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoopOptions {
  readonly durationMs: number;
  readonly connections: number;
  /** Offered requests per second over all workers; null = as fast as the target answers. */
  readonly rate: number | null;
  /** How long in-flight requests may finish after the deadline (default 2000 ms). */
  readonly graceMs?: number;
  /**
   * Load sent before the measured duration and not counted (default 0): connection setup, JIT
   * and lazily built routing state would otherwise show as a start-up tail in the percentiles.
   */
  readonly warmupMs?: number;
}

/** Default grace period after the deadline. */
export const DEFAULT_GRACE_MS = 2000;
/** How long after the hard deadline aborted requests may take to settle before the loop returns regardless. */
const SETTLE_MS = 100;

/** The grace period of `o`. Also the connect timeout of the scenarios' pools, so a connect attempt ends within it. */
export function graceMs(o: LoopOptions): number {
  return o.graceMs ?? DEFAULT_GRACE_MS;
}

/**
 * Runs `once` from `connections` workers until the deadline. `signal` aborts at deadline + grace.
 * `scheduledAt` is when the request was due (open loop) or started (closed loop): measuring
 * latency from it counts the time a request waited for a free connection. `measured` is false
 * during the warm-up. The elapsed time returned covers the measured part only.
 */
export async function runLoop(o: LoopOptions, once: (signal: AbortSignal, scheduledAt: number, measured: boolean) => Promise<void>): Promise<{ elapsedMs: number }> {
  const warmup = o.warmupMs ?? 0;
  const begin = performance.now();
  const start = begin + warmup;
  const deadline = start + o.durationMs;
  const abort = new AbortController();
  let expired!: () => void;
  const hardDeadline = new Promise<void>((resolve) => { expired = resolve; });
  const hard = setTimeout(() => { abort.abort(); expired(); }, warmup + o.durationMs + graceMs(o));
  let ticket = 0;
  const worker = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      let due = performance.now();
      if (o.rate !== null) {
        due = begin + (ticket++ * 1000) / o.rate;
        if (due >= deadline) return;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
      }
      if (performance.now() >= deadline) return;
      await once(abort.signal, due, due >= start);
    }
  };
  // A request that ignores the abort (undici does while it connects) must not hold the run past
  // the hard deadline: give aborted requests a moment to settle, then return; the caller destroys
  // its connection pool, which ends whatever is left.
  await Promise.race([Promise.all(Array.from({ length: o.connections }, worker)), hardDeadline.then(() => sleep(SETTLE_MS))]);
  clearTimeout(hard);
  return { elapsedMs: Math.min(performance.now(), deadline + graceMs(o)) - start };
}
