/**
 * Seeded randomness for the traffic model (issue 6: a simulation must be reproducible from
 * `--seed`, so nothing here touches Math.random). sfc32 is small, fast in 32-bit integer
 * arithmetic, and passes PractRand for the sample sizes a simulation draws.
 */

/** A deterministic pseudo-random source. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  /** `n` characters drawn from `alphabet`. */
  chars(n: number, alphabet: string): string;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Upper- and lower-case ASCII letters (Synapse's `random_string` alphabet for token secrets). */
export const ASCII_LETTERS = LETTERS;
/** Base62 digits in the order Synapse's `base62_encode` uses. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** An sfc32 generator seeded from any string or number (the seed is hashed, so 1 and 2 differ well). */
export function createRng(seed: string | number): Rng {
  let [a, b, c, d] = seedWords(String(seed));
  const next = (): number => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return {
    next,
    below: (n) => Math.floor(next() * n),
    chars: (n, alphabet) => {
      let s = '';
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
      return s;
    },
  };
}

/** Four 32-bit words from a string (cyrb128), so textual seeds are accepted as they are. */
function seedWords(str: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

/**
 * A Zipf(s) sampler over ranks 0..n-1 (rank 0 the most active). Activity of Matrix users and rooms
 * is heavy-tailed: a few rooms carry most messages. Draws use Vose's alias method: O(1) per draw
 * from one random number, which matters when a million requests each draw a user and a room.
 */
export interface Zipf {
  readonly n: number;
  sample(rng: Rng): number;
  /** Probability of rank i (for tests that compare observed with expected frequencies). */
  probability(i: number): number;
}

/** Builds a Zipf sampler; `s` is the exponent (1.0 is the classic law; 0 is uniform). */
export function createZipf(n: number, s = 1): Zipf {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Zipf needs n >= 1, got ${n}`);
  const pmf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += pmf[i] = 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) pmf[i]! /= total;
  const { prob, alias } = aliasTables(pmf);
  return {
    n,
    probability: (i) => pmf[i]!,
    sample(rng) {
      const u = rng.next() * n;
      const i = Math.floor(u);
      return u - i < prob[i]! ? i : alias[i]!;
    },
  };
}

/** Vose's alias tables: column i keeps rank i with probability prob[i], else yields alias[i]. */
function aliasTables(pmf: Float64Array): { prob: Float64Array; alias: Int32Array } {
  const n = pmf.length;
  const prob = new Float64Array(n), alias = new Int32Array(n);
  const scaled = Float64Array.from(pmf, (p) => p * n);
  const small: number[] = [], large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const l = small.pop()!, g = large.pop()!;
    prob[l] = scaled[l]!;
    alias[l] = g;
    scaled[g] = scaled[g]! + scaled[l]! - 1;
    (scaled[g]! < 1 ? small : large).push(g);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return { prob, alias };
}
