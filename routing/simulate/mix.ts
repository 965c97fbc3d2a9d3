/**
 * Traffic categories and their shares. The defaults are the realistic mix of shared/bench
 * ("Traffic" section of its README): mostly incremental sync, then event sending, other
 * generic-worker reads, and smaller slices of the rest. A mix file (YAML or JSON; JSON is YAML)
 * overrides them: a map of category → share, normalised to sum to 1.
 */
import { z } from 'zod';
import { ConfigError } from '../../config/errors.ts';
import { loadYamlFile, zodIssues } from '../../config/yaml.ts';

/** What kind of Matrix request a generated request is; also the loadtest's per-route grouping. */
export type Category =
  | 'sync'
  | 'initial_sync'
  | 'event_send'
  | 'pagination'
  | 'federation'
  | 'stream_writers'
  | 'other'
  | 'unmatched';

/** Every category, in report order. */
export const CATEGORIES: readonly Category[] = Object.freeze([
  'sync', 'initial_sync', 'event_send', 'pagination', 'federation', 'stream_writers', 'other', 'unmatched',
] as const);

/** Share of each category; sums to 1. */
export type Mix = Readonly<Record<Category, number>>;

/** The shared/bench mix: 55 % sync, 3 % initial sync, 12 % sends, 5 % each of the rest, 10 % other. */
export const DEFAULT_MIX: Mix = Object.freeze({
  sync: 0.55, initial_sync: 0.03, event_send: 0.12, pagination: 0.05,
  federation: 0.05, stream_writers: 0.05, other: 0.10, unmatched: 0.05,
});

const Share = z.number({ error: 'a share is a number (a fraction such as 0.55 or a percentage such as 55)' })
  .nonnegative('a share cannot be negative').finite();

const MixFile = z.strictObject(
  Object.fromEntries(CATEGORIES.map((c) => [c, Share.optional()])) as Record<Category, z.ZodOptional<typeof Share>>,
);

/**
 * Reads a mix file. Categories it leaves out get share 0; the values are normalised, so
 * fractions and percentages both work. Throws ConfigError (file:line:column) on unknown
 * categories, non-numbers, negatives, or an all-zero mix.
 */
export function loadMixFile(file: string): Mix {
  const src = loadYamlFile(file);
  if (src.value === null || typeof src.value !== 'object' || Array.isArray(src.value)) {
    throw new ConfigError([{
      file, line: 1, column: 1, severity: 'error', code: 'invalid_type',
      message: 'a mix file is a map of category to share', hint: `categories: ${CATEGORIES.join(', ')}`,
    }]);
  }
  const parsed = MixFile.safeParse(src.value);
  if (!parsed.success) throw new ConfigError(zodIssues(src, parsed.error, MixFile));
  const shares = parsed.data as Partial<Record<Category, number>>;
  const total = CATEGORIES.reduce((sum, c) => sum + (shares[c] ?? 0), 0);
  if (total <= 0) {
    throw new ConfigError([{
      file, line: 1, column: 1, severity: 'error', code: 'invalid_value',
      message: 'the mix has no traffic: every share is 0', hint: 'give at least one category a positive share',
    }]);
  }
  return normaliseMix(shares);
}

/** Scales shares to sum to 1; missing categories are 0. */
export function normaliseMix(shares: Partial<Record<Category, number>>): Mix {
  const total = CATEGORIES.reduce((sum, c) => sum + (shares[c] ?? 0), 0);
  return Object.freeze(Object.fromEntries(CATEGORIES.map((c) => [c, (shares[c] ?? 0) / total])) as Record<Category, number>);
}
