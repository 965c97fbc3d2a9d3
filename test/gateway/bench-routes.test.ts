/**
 * The proxy benchmark's routing, translated (test/bench/routes-from-bench.ts): every request of
 * the harness's routing-check sample (shared/bench/generated/sample.tsv) gets a server of the
 * expected class from the compiled table, and every user/room/source-IP group stays on one
 * server, the same checks the harness makes before it measures (issue 3, point 10).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseRoutes } from '../../config/routes.ts';
import { compileTable } from '../../routing/table.ts';
import { translate, type BenchRoutes } from '../bench/routes-from-bench.ts';
import { ROOT } from './support.ts';

const GEN = join(ROOT, '..', 'shared', 'bench', 'generated');

test('translated bench routes: 0 misrouted, 0 unsticky on the harness sample', () => {
  const bench = JSON.parse(readFileSync(join(GEN, 'routes.json'), 'utf8')) as BenchRoutes;
  const { config } = parseRoutes(stringify(translate(bench, 28090)), 'bench-routes.yaml');
  const table = compileTable(config);
  const classOf = new Map<string, string>();
  for (const line of readFileSync(join(GEN, 'upstreams.tsv'), 'utf8').trim().split('\n')) {
    const [name, cls] = line.split('\t');
    classOf.set(name!, cls!);
  }
  const groups = new Map<string, Set<string>>();
  let checked = 0;
  for (const line of readFileSync(join(GEN, 'sample.tsv'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [, expected, sticky, method, target, auth] = line.split('\t') as [string, string, string, string, string, string];
    const q = target.indexOf('?');
    const headers: Record<string, string> = auth && auth !== '-' ? { authorization: auth } : {};
    const d = table.decide({ method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers, sourceIp: '127.0.0.1' }, 'public');
    assert.equal(d.denied, undefined, target);
    assert.ok(d.server, target);
    assert.equal(classOf.get(d.server.name), expected, `${method} ${target}`);
    if (sticky && sticky !== '-') {
      const key = `${expected}|${sticky}`;
      if (!groups.has(key)) groups.set(key, new Set());
      groups.get(key)!.add(d.server.name);
    }
    checked++;
  }
  assert.ok(checked > 700, `checked ${checked}`);
  const unsticky = [...groups].filter(([, s]) => s.size > 1).map(([k]) => k);
  assert.deepEqual(unsticky, []);
});
