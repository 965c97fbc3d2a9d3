/**
 * The generic YAML layer under routes.yaml (also used for Synapse's homeserver.yaml): positions
 * of values and keys, aliases and merge keys, every syntax error at once, and zod issues mapped
 * without a schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, choiceHint, nearest } from '../../config/errors.ts';
import { parseYaml, zodIssues } from '../../config/yaml.ts';
import { parseRoutes } from '../../config/routes.ts';

const TEXT = `a:
  b: [10, 20]
  c:
  "d e": {f: x}
list:
  - name: one
  - name: two
`;

test('positionOf finds values, keyPositionOf keys, and both fall back to the nearest ancestor', () => {
  const src = parseYaml(TEXT, 'f.yaml');
  assert.deepEqual(src.positionOf(['a', 'b', 1]), { line: 2, column: 11 });
  assert.deepEqual(src.positionOf(['a', 'b']), { line: 2, column: 6 });
  assert.deepEqual(src.keyPositionOf(['a', 'b']), { line: 2, column: 3 });
  assert.deepEqual(src.positionOf(['a', 'c']), { line: 3, column: 3 }, 'an empty value points at its key');
  assert.deepEqual(src.positionOf(['a', 'd e', 'f']), { line: 4, column: 14 });
  assert.deepEqual(src.positionOf(['list', 1, 'name']), { line: 7, column: 11 });
  assert.deepEqual(src.positionOf(['list', 5, 'name']), { line: 6, column: 3 }, 'missing item: the list');
  assert.deepEqual(src.positionOf(['a', 'zz', 'y']), { line: 2, column: 3 }, 'missing key: the enclosing mapping');
  assert.deepEqual(src.positionOf([]), { line: 1, column: 1 });
});

test('aliases and merge keys resolve, in values and in position lookups', () => {
  const src = parseYaml('base: &hc {path: /health, interval: 5s}\nup:\n  hc: *hc\n  more:\n    <<: *hc\n    interval: 1s\n', 'f.yaml');
  assert.deepEqual(src.value, {
    base: { path: '/health', interval: '5s' },
    up: { hc: { path: '/health', interval: '5s' }, more: { path: '/health', interval: '1s' } },
  });
  assert.deepEqual(src.positionOf(['up', 'hc', 'interval']), { line: 1, column: 37 });
});

test('every syntax error is reported, each at its line and column', () => {
  assert.throws(() => parseYaml('a: [1, 2\nb: {c: 1\nd: "x\n', 'bad.yaml'), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.issues.length >= 2, err.message);
    assert.ok(err.issues.every((i) => i.file === 'bad.yaml' && i.code === 'yaml_syntax' && i.line >= 1 && i.column >= 1));
    assert.match(err.message, /^bad\.yaml:\d+:\d+: error: YAML syntax: /);
    return true;
  });
  assert.throws(() => parseYaml('a: 1\n---\nb: 2\n', 'multi.yaml'), /multi\.yaml:2:1: error: YAML syntax: .*document/i);
  assert.throws(() => parseYaml('a: 1\n\tb: 2\n', 'tab.yaml'), /tab\.yaml:2:\d+: error: YAML syntax/);
});

test('zodIssues without a schema still pins each issue; unknown keys then carry no hint', () => {
  const src = parseYaml('server:\n  port: "80"\n  hots: x\n', 'hs.yaml');
  const schema = z.strictObject({ server: z.strictObject({ port: z.number(), host: z.string().optional() }) });
  const result = schema.safeParse(src.value);
  assert.ok(!result.success);
  const bare = zodIssues(src, result.error);
  assert.deepEqual(bare.map((i) => [i.line, i.column, i.code, i.hint]), [[2, 9, 'invalid_type', undefined], [3, 3, 'unknown_key', undefined]]);
  assert.equal(bare[0]!.message, 'expected number, got string "80" in server.port');
  const withSchema = zodIssues(src, result.error, schema);
  assert.equal(withSchema[1]!.hint, "did you mean 'host'?");
});

test('did-you-mean: near names only, else the list', () => {
  assert.equal(nearest('upstrem', ['upstream', 'routes']), 'upstream');
  assert.equal(nearest('zzz', ['upstream', 'routes']), undefined);
  assert.equal(choiceHint('zzz', ['a', 'b'], 'upstreams'), "upstreams: 'a', 'b'");
});

test('anchors and merge keys let routes.yaml share settings between upstreams', () => {
  const { config } = parseRoutes(`upstreams:
  main: {servers: [{name: m, url: "http://127.0.0.1:1"}], health_check: &hc {path: /ready, interval: 2s}}
  sync: {servers: [{name: s, url: "http://127.0.0.1:2"}], health_check: {<<: *hc, interval: 1s}}
`, 'r.yaml');
  assert.equal(config.upstreams.main!.health_check.interval, 2000);
  assert.equal(config.upstreams.sync!.health_check.path, '/ready');
  assert.equal(config.upstreams.sync!.health_check.interval, 1000);
});
