/**
 * Latency recording for load tests. Every sample is kept (a Float64Array that doubles as it
 * fills) and sorted once at the end: exact percentiles, and at 8 bytes a sample even a
 * million-request run costs 8 MB — simpler and more exact than a bucketed histogram at this scale.
 */

/** Percentiles in milliseconds (nearest-rank). */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** A growable sample of latencies in milliseconds. */
export class LatencyRecorder {
  #values = new Float64Array(1024);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (this.#count === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#count++] = ms;
  }

  /** Percentile of the samples so far (for progress lines); sorts a copy. */
  summary(): LatencySummary {
    const v = this.#values.slice(0, this.#count).sort();
    const n = v.length;
    const at = (p: number): number => (n === 0 ? 0 : v[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += v[i]!;
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    return { count: n, mean: round(n ? sum / n : 0), p50: round(at(50)), p90: round(at(90)), p95: round(at(95)), p99: round(at(99)), max: round(n ? v[n - 1]! : 0) };
  }
}

/** Adds one to a counter in a plain record (status codes, server names). */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
