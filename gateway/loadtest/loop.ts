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

/** What a run did, beyond what `once` recorded. */
export interface LoopResult {
  /** Wall time of the measured part (after the warm-up), at most duration + grace. */
  readonly elapsedMs: number;
  /** Measured requests started (every `once` call after the warm-up). */
  readonly sent: number;
  /**
   * Open loop only: measured tickets that fell due before the deadline but were never sent,
   * because every connection was still busy when the deadline (or the hard deadline) came.
   */
  readonly notSent: number;
}

/**
 * Runs `once` from `connections` workers until the deadline. `signal` aborts at deadline + grace.
 * `scheduledAt` is when the request was due (open loop) or started (closed loop): measuring
 * latency from it counts the time a request waited for a free connection. `measured` is false
 * during the warm-up.
 *
 * With a rate, a ticket that falls due while every connection is blocked waits for one; if none
 * frees up before the deadline the ticket is never sent. Such tickets are not silently dropped:
 * `notSent(due, endedAt)` is called for each measured one when the run ends, so the caller can
 * count it and record its latency as at least `endedAt - due` (coordinated omission otherwise
 * hides exactly the stall the test should show).
 */
export async function runLoop(
  o: LoopOptions,
  once: (signal: AbortSignal, scheduledAt: number, measured: boolean) => Promise<void>,
  notSent?: (due: number, endedAt: number) => void,
): Promise<LoopResult> {
  const warmup = o.warmupMs ?? 0;
  const begin = performance.now();
  const start = begin + warmup;
  const deadline = start + o.durationMs;
  const abort = new AbortController();
  let expired!: () => void;
  const hardDeadline = new Promise<void>((resolve) => { expired = resolve; });
  const hard = setTimeout(() => { abort.abort(); expired(); }, warmup + o.durationMs + graceMs(o));
  const dueAt = (t: number): number => begin + (t * 1000) / o.rate!;
  let ticket = 0, sent = 0;
  /** Due times of tickets a worker took but could not send before the deadline. */
  const dropped: number[] = [];
  let finished = false;
  const worker = async (): Promise<void> => {
    while (!abort.signal.aborted && !finished) {
      let due = performance.now();
      if (o.rate !== null) {
        due = dueAt(ticket++);
        if (due >= deadline) return;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
      }
      if (performance.now() >= deadline || finished) {
        if (o.rate !== null) dropped.push(due);
        return;
      }
      if (due >= start) sent++;
      await once(abort.signal, due, due >= start);
    }
  };
  // A request that ignores the abort (undici does while it connects) must not hold the run past
  // the hard deadline: give aborted requests a moment to settle, then return; the caller destroys
  // its connection pool, which ends whatever is left.
  await Promise.race([Promise.all(Array.from({ length: o.connections }, worker)), hardDeadline.then(() => sleep(SETTLE_MS))]);
  finished = true;
  clearTimeout(hard);
  const endedAt = performance.now();
  let unsent = 0;
  if (o.rate !== null) {
    const miss = (due: number): void => {
      if (due < start || due >= deadline) return;
      unsent++;
      notSent?.(due, endedAt);
    };
    // Tickets taken too late, then those no worker took (all were blocked).
    for (const due of dropped) miss(due);
    for (let t = ticket; dueAt(t) < deadline; t++) miss(dueAt(t));
  }
  return { elapsedMs: Math.min(endedAt, deadline + graceMs(o)) - start, sent, notSent: unsent };
}

/**
 * A warning when an open-loop run sent well under (below 90 % of) the offered rate: the numbers
 * then describe a lighter load than asked for, and the unsent tickets say by how much.
 */
export function rateWarnings(o: LoopOptions, run: LoopResult, what: string): string[] {
  if (o.rate === null) return [];
  const achieved = run.sent / (o.durationMs / 1000);
  if (achieved >= 0.9 * o.rate) return [];
  return [`achieved ${Math.round(achieved * 10) / 10} ${what}/s, well below the offered ${o.rate}/s: ${run.notSent} ${what} fell due while all ${o.connections} connections were busy and were never sent (not_sent; counted in the latency from when they were due to the end of the run). Add --connections or lower --rate, or the target is stalling.`];
}
