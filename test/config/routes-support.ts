/** Helpers shared by the routes.yaml tests. */
import assert from 'node:assert/strict';
import { ConfigError, type ConfigIssue } from '../../config/errors.ts';
import { parseRoutes } from '../../config/routes.ts';

/** The issues a text is rejected with (fails the test when it is accepted). */
export function rejected(text: string): readonly ConfigIssue[] {
  try {
    parseRoutes(text, 'r.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the file to be rejected');
}

/** `line:col severity code` of each issue, for compact exact assertions. */
export function where(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${i.line}:${i.column} ${i.severity} ${i.code}`);
}
