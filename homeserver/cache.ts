/**
 * A bounded, TTL'd cache whose entries are dropped by replication (INVALIDATE commands, rows seen
 * on a stream, or a reset after a gap). A load racing an invalidation is not stored: each key has a
 * generation that invalidation bumps, and a loader's result is kept only if the generation it
 * started with is still current (the classic stale-fill race).
 */
export class InvalidatingCache<V> {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { value: V; at: number }>();
  readonly #gens = new Map<string, number>();
  #epoch = 0;

  constructor(max: number, ttlMs: number) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  /** The cached value, or the loader's (stored unless invalidated meanwhile). */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.value;
    const gen = this.#gens.get(key) ?? 0;
    const epoch = this.#epoch;
    const value = await load();
    if ((this.#gens.get(key) ?? 0) === gen && this.#epoch === epoch) {
      this.#entries.delete(key);
      this.#entries.set(key, { value, at: Date.now() });
      if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return value;
  }

  invalidate(key: string): void {
    this.#entries.delete(key);
    this.#gens.set(key, (this.#gens.get(key) ?? 0) + 1);
    if (this.#gens.size > this.#max * 2) { this.#gens.clear(); this.#epoch++; }
  }

  clear(): void {
    this.#entries.clear();
    this.#gens.clear();
    this.#epoch++;
  }
}
