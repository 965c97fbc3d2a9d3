/**
 * Issue 2, point 6: the compiled table decides exactly as ordered first-match evaluation. Seeded
 * requests built from the catalogue's own regexes (samples, near misses, percent-encoded room
 * IDs, odd query strings, every method) are matched by the compiled table and by the naive
 * sequential evaluator over several route tables; they must agree on every request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRoutesFile } from '../../config/routes.ts';
import type { RoutesConfig } from '../../config/routes-schema.ts';
import { sequentialMatch } from '../../routing/sequential.ts';
import { LINE_TERMINATOR } from '../../routing/dfa.ts';
import { compileTable } from '../../routing/table.ts';
import type { RouteRequest } from '../../routing/types.ts';
import { EXTRA_PATHS, Prng, randomTable, regexPool, sampleRequest, tablePool } from './property-gen.ts';

const PER_TABLE = 12_500;

/** Checks PER_TABLE requests; returns how many matched each route (index → count). */
function agree(config: RoutesConfig, seed: number, maxDfaStates?: number): Map<number, number> {
  const table = compileTable(config, { maxDfaStates });
  // A second table sees each request as the gateway builds it: plainPath set when the path has
  // no line terminator (the request line admits none), so its DFA skips segments unchecked.
  const asGateway = compileTable(config, { maxDfaStates });
  const rng = new Prng(seed);
  const pool = regexPool([...EXTRA_PATHS, ...config.routes.flatMap((r) => r.match.paths ?? [])]);
  const focus = tablePool(config);
  const matched = new Map<number, number>();
  for (let i = 0; i < PER_TABLE; i++) {
    const req: RouteRequest = sampleRequest(rng, pool, focus);
    const want = sequentialMatch(config, req);
    const got = table.match(req)?.index ?? null;
    if (got !== want) {
      assert.fail(`seed ${seed} request ${i}: compiled ${got} != sequential ${want} for ${JSON.stringify(req)}`);
    }
    const plain: RouteRequest = LINE_TERMINATOR.test(req.path) ? req : { ...req, plainPath: true };
    const gotPlain = asGateway.match(plain)?.index ?? null;
    if (gotPlain !== want) {
      assert.fail(`seed ${seed} request ${i}: compiled (plainPath) ${gotPlain} != sequential ${want} for ${JSON.stringify(plain)}`);
    }
    if (want !== null) matched.set(want, (matched.get(want) ?? 0) + 1);
  }
  return matched;
}

test('compiled table agrees with sequential evaluation on the nginx-docs example (25,000 requests)', () => {
  const { config } = loadRoutesFile('config/examples/nginx-docs.routes.yaml');
  const a = agree(config, 1);
  const b = agree(config, 2);
  // The generator must reach every route, and not only the default upstream.
  const hits = config.routes.map((_, i) => (a.get(i) ?? 0) + (b.get(i) ?? 0));
  assert.ok(hits.every((n) => n >= 10), `route hits ${hits.join(', ')}`);
  assert.ok(hits.reduce((x, y) => x + y, 0) > PER_TABLE * 0.6);
});

test('compiled table agrees on generated tables (several releases, orderings, conditions)', () => {
  const rng = new Prng(42);
  for (const [i, version] of ['1.92', '1.67', '1.157', '1.120', '1.92', '1.140'].entries()) {
    agree(randomTable(rng, version), 100 + i);
  }
});

test('compiled table agrees with a tiny DFA cache (flushes mid-path)', () => {
  const { config } = loadRoutesFile('config/examples/nginx-docs.routes.yaml');
  const table = compileTable(config, { maxDfaStates: 8 });
  agree(config, 7, 8);
  assert.ok(table.matcher.regexCount > 50);
});
