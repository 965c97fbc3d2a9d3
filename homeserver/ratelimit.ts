/**
 * Per-user token buckets for Synapse's `rc_message` setting (Synapse config "Ratelimiting":
 * `per_second`, `burst_count`). Like Synapse, each process limits independently. Unset = no limit.
 */
import { MatrixError } from './errors.ts';

/** A token bucket per key. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number) {
    this.#rate = perSecond;
    this.#burst = burst;
  }

  /** Takes one token for `key` or throws 429 M_LIMIT_EXCEEDED with retry_after_ms. */
  take(key: string, now = Date.now()): void {
    const b = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
    b.at = now;
    if (b.tokens < 1) {
      const retry = Math.ceil(((1 - b.tokens) / this.#rate) * 1000);
      this.#buckets.set(key, b);
      throw new MatrixError('M_LIMIT_EXCEEDED', 'Too Many Requests', 429, { retry_after_ms: retry });
    }
    b.tokens -= 1;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 100_000) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
