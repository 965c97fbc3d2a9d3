/**
 * The config package's error module: every problem found in a configuration file (YAML syntax,
 * schema, semantic checks) is a `ConfigIssue` pinned to file:line:column, and a file that has any
 * error-severity issue is rejected with one `ConfigError` that lists them all, so an operator fixes
 * a file in one pass instead of one error per run (issue 2, point 5).
 */

/** Stable codes, one per kind of problem, for tests and tooling that must not parse messages. */
export type IssueCode =
  | 'yaml_syntax'
  | 'empty_file'
  | 'unknown_key'
  | 'missing_key'
  | 'invalid_type'
  | 'invalid_value'
  | 'unknown_upstream'
  | 'unknown_group'
  | 'unknown_synapse_version'
  | 'invalid_regex'
  | 'invalid_cidr'
  | 'unsupported_scheme'
  | 'server_is_listener'
  | 'duplicate_name'
  | 'duplicate_port'
  | 'empty_match'
  | 'shadowed_route'
  | 'admin_exposed';

/** One problem in a configuration file. Lines and columns are 1-based. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
  code?: IssueCode;
}

/** `file:line:col: error: message (hint: ...)` — the shape compilers use, so editors can jump to it. */
export function formatIssue(i: ConfigIssue): string {
  const hint = i.hint ? ` (hint: ${i.hint})` : '';
  return `${i.file}:${i.line}:${i.column}: ${i.severity}: ${i.message}${hint}`;
}

/** Orders issues by file, then position, so reports read top to bottom. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/** A rejected configuration file. `issues` holds every error (and any warnings found alongside). */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = sortIssues(issues);
    super(sorted.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = Object.freeze(sorted);
  }

  /** Only the error-severity issues. */
  get errors(): readonly ConfigIssue[] {
    return this.issues.filter((i) => i.severity === 'error');
  }
}

/** Levenshtein distance, for did-you-mean hints. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be a plausible typo (distance at
 * most a third of the longer word, minimum 2), or a candidate that contains the word.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** A hint naming the nearest candidate, else listing them (shortened when long). */
export function choiceHint(word: string, candidates: readonly string[], what = 'known'): string {
  const near = nearest(word, candidates);
  if (near !== undefined) return `did you mean '${near}'?`;
  if (candidates.length === 0) return `there are no ${what} names`;
  const shown = candidates.slice(0, 12).map((c) => `'${c}'`).join(', ');
  return `${what}: ${shown}${candidates.length > 12 ? `, … (${candidates.length} in all)` : ''}`;
}
