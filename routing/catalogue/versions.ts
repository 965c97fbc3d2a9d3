/**
 * Synapse release numbers the catalogue covers, and their ordering. Releases are named
 * 'MAJOR.MINOR' (patch releases never changed docs/workers.md's endpoint lists).
 */

/** The first release the catalogue holds (issue 4 point 2: 1.67 to the newest). */
const OLDEST_MINOR = 67;
/** The newest release the catalogue holds: v1.157 (its docs/workers.md was read at tag v1.157.0). */
const NEWEST_MINOR = 157;

/** Every release the catalogue holds, ascending: '1.67' … '1.157'. */
export const SYNAPSE_VERSIONS: readonly string[] = Object.freeze(
  Array.from({ length: NEWEST_MINOR - OLDEST_MINOR + 1 }, (_, i) => `1.${OLDEST_MINOR + i}`),
);

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
