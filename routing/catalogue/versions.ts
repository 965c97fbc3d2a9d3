/**
 * Synapse release numbers the catalogue covers, and their ordering. Releases are named
 * 'MAJOR.MINOR' (patch releases never changed docs/workers.md's endpoint lists).
 */

/** Every release the catalogue holds, ascending. */
export const SYNAPSE_VERSIONS: readonly string[] = Object.freeze(['1.89', '1.90', '1.91', '1.92']);

/** The newest release the catalogue holds. */
export const LATEST_SYNAPSE_VERSION: string = SYNAPSE_VERSIONS[SYNAPSE_VERSIONS.length - 1] as string;

/** The release whose docs/workers.md the seed document (shared/seed/workers.md) is: 1.89–1.92. */
export const SEED_VERSION = '1.92';

/** Splits 'MAJOR.MINOR' into numbers; null when it is not of that form. */
export function parseVersion(v: string): readonly [number, number] | null {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Negative when a < b, 0 when equal, positive when a > b. Both must parse. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`not a MAJOR.MINOR version: ${pa ? b : a}`);
  return pa[0] - pb[0] || pa[1] - pb[1];
}

/**
 * Normalises a user-supplied version ('v1.92.0', '1.92.3', '1.92') to a catalogue version,
 * or returns null when it names no release the catalogue holds.
 */
export function normaliseVersion(v: string): string | null {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:rc\d+)?$/.exec(v.trim());
  if (!m) return null;
  const key = `${Number(m[1])}.${Number(m[2])}`;
  return SYNAPSE_VERSIONS.includes(key) ? key : null;
}
