/**
 * Shadowing analysis (routing/analysis.ts): routes that can never win are found by language
 * inclusion, including coverage by the union of several earlier routes, and no route that can
 * win is ever reported (checked against the sequential evaluator on generated requests).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRoutesFile } from '../../config/routes.ts';
import { RoutesFile, type RoutesConfig } from '../../config/routes-schema.ts';
import { regexCovered, shadowedRoutes } from '../../routing/analysis.ts';
import { sequentialMatch } from '../../routing/sequential.ts';
import { EXTRA_PATHS, Prng, randomTable, regexPool, sampleRequest } from './property-gen.ts';

function table(routes: unknown[]): RoutesConfig {
  return RoutesFile.parse({ synapse_version: '1.92', upstreams: { main: { servers: [{ name: 'm', url: 'http://127.0.0.1:1' }] } },
    routes: routes.map((match, i) => ({ name: `r${i}`, match, upstream: 'main' })) });
}

test('regex language inclusion', () => {
  assert.ok(regexCovered('^/_matrix/client/v3/sync$', ['^/_matrix/client/(r0|v3)/sync$']));
  assert.ok(!regexCovered('^/_matrix/client/v4/sync$', ['^/_matrix/client/(r0|v3)/sync$']));
  assert.ok(regexCovered('^/a/[xyz]$', ['^/a/(x|y)$', '^/a/z$']));
  assert.ok(!regexCovered('^/a/[xyz]', ['^/a/(x|y)$', '^/a/z$']));
  assert.ok(regexCovered('/send/', ['send']));
  assert.ok(!regexCovered('send', ['/send/']));
  assert.ok(regexCovered('^/x(?=y)', ['^/x(?=y)']), 'identical unsupported regexes cover each other');
  assert.ok(!regexCovered('^/x(?=y)', ['^/x']), 'unsupported regexes are not analysed');
});

test('the example routes.yaml has no shadowed route', () => {
  assert.deepEqual(shadowedRoutes(loadRoutesFile('config/examples/nginx-docs.routes.yaml').config), []);
});

test('shadowed by language inclusion, conditions, methods and catch-alls', () => {
  const c = table([
    { groups: ['sync'] },
    { paths: ['^/_matrix/client/v3/sync$'] },
    { paths: ['/sync$'] },
    { paths: ['^/_matrix/client/(r0|v3)/sync$'], query: { since: 'non_empty' } },
    { paths: ['^/a$'], methods: ['GET'] },
    { paths: ['^/a$'] },
    { paths: ['^/a$'], methods: ['GET'], headers: { 'X-T': 'present' } },
    { paths: ['^/b$'], query: { x: 'present' } },
    { paths: ['^/b$'] },
    { query: { y: 'absent' } },
    { groups: ['client'], query: { y: 'absent' } },
    {},
    { groups: ['media'] },
    { paths: ['^/c'] },
  ]);
  assert.deepEqual(shadowedRoutes(c), [
    { route: 1, by: 0 },
    { route: 3, by: 0 },
    { route: 6, by: 4 },
    { route: 10, by: 9 },
    { route: 12, by: 11 },
    { route: 13, by: 11 },
  ]);
});

test('union of several earlier routes', () => {
  const c = table([{ paths: ['^/a/(x|y)$'] }, { paths: ['^/a/z$'] }, { paths: ['^/a/[xyz]$'] }, { paths: ['^/a/[xyzw]$'] }]);
  assert.deepEqual(shadowedRoutes(c), [{ route: 2, by: 0 }]);
});

test('soundness: no reported route ever wins on generated requests', () => {
  const rng = new Prng(9);
  let reported = 0;
  for (const version of ['1.92', '1.157', '1.67', '1.92']) {
    const base = randomTable(rng, version);
    // Repeat one route at the end (with stricter conditions): it must be found shadowed.
    const copy = base.routes[rng.below(base.routes.length)]!;
    const config = RoutesFile.parse({ ...base, routes: [...base.routes, { ...copy, name: 'copy', match: { ...copy.match, headers: { ...copy.match.headers, 'x-extra': 'present' } } }] });
    const shadowed = new Set(shadowedRoutes(config).map((s) => s.route));
    reported += shadowed.size;
    const pool = regexPool(EXTRA_PATHS);
    for (let i = 0; i < 3000; i++) {
      const req = sampleRequest(rng, pool);
      const won = sequentialMatch(config, req);
      assert.ok(won === null || !shadowed.has(won), `route ${won} reported shadowed but wins ${JSON.stringify(req)}`);
    }
  }
  assert.ok(reported > 0, 'the generated tables should contain shadowed routes');
});
