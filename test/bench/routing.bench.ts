/**
 * `make bench-routing` (issue 2, point 11): decisions per second of the compiled routing table
 * (`match` and the full `decide`: denials, match, key extraction, balancer pick) against
 * sequential first-match evaluation, on one core, in the same run, over several interleaved
 * rounds. Two sequential baselines: "nginx-like" (every regex compiled once, tried in order, as
 * nginx walks its regex locations) and "naive" (routing/sequential.ts, the reference evaluator,
 * which builds its RegExps per call). The request mix follows shared/bench/README.md "Traffic";
 * each request is a full head (with the fields clients send) parsed by the gateway's own parser,
 * so decide() gets what the data plane gives it. Two decide rows: over the whole mix parsed up
 * front (request data cold: ~8 MB), and each window decided just after it was parsed (request
 * data in cache, as in the gateway). The two come out within a few per cent of each other, in
 * either order (README.md "Routing decisions"). Targets: compiled >= 10x sequential,
 * >= 2,000,000 decisions/s.
 *
 * Usage: node test/bench/routing.bench.ts [--rounds N] [--seconds S] [--routes FILE] [--seed N]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadRoutesFile } from '../../config/routes.ts';
import type { RoutesConfig } from '../../config/routes-schema.ts';
import { minorGc } from '../../gateway/memory.ts';
import { catalogueFor } from '../../routing/catalogue/index.ts';
import { headerPredicate, queryPredicate, type RequestPredicate } from '../../routing/compile-conditions.ts';
import { sequentialMatch } from '../../routing/sequential.ts';
import { compileTable } from '../../routing/table.ts';
import type { RouteRequest } from '../../routing/types.ts';
import { benchHeads, HeadParser } from './routing-mix.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '0.6' },
    routes: { type: 'string', default: 'config/examples/nginx-docs.routes.yaml' },
    seed: { type: 'string', default: '1' },
  },
});

/** The nginx-like baseline: regexes compiled once, routes tried in order. */
function precompiledSequential(config: RoutesConfig): (req: RouteRequest) => number {
  const catalogue = catalogueFor(config.synapse_version);
  const routes = config.routes.map((r) => {
    const m = r.match;
    const regexes: { re: RegExp; methods?: readonly string[] }[] = [];
    for (const g of m.groups ?? []) for (const e of catalogue.group(g) ?? []) regexes.push({ re: new RegExp(e.regex), methods: e.methods });
    for (const p of m.paths ?? []) regexes.push({ re: new RegExp(p) });
    const conds: RequestPredicate[] = [
      ...Object.entries(m.query ?? {}).map(([k, v]) => queryPredicate(k, v)),
      ...Object.entries(m.headers ?? {}).map(([k, v]) => headerPredicate(k, v)),
    ];
    return { regexes, anyPath: regexes.length === 0 && !(m.groups?.length), methods: m.methods, conds };
  });
  return (req) => {
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.methods && !r.methods.includes(req.method)) continue;
      let ok = r.anyPath;
      for (const x of r.regexes) {
        if ((!x.methods || x.methods.includes(req.method)) && x.re.test(req.path)) {
          ok = true;
          break;
        }
      }
      if (ok && r.conds.every((c) => c(req))) return i;
    }
    return -1;
  };
}

/**
 * CPU time of this process in microseconds. Not process.threadCpuUsage(): Linux brings the
 * running thread's own CPU time up to date only at scheduler ticks (every few milliseconds)
 * and switches, so over the short windows of measureJustParsed it read 0, or ten times the
 * truth; the process clock brings the caller's time up to date on every read. The process's
 * other threads (GC helpers, compiler) are idle once the code is warm.
 */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Runs `fn` over the mix for about `seconds`; returns calls per second of CPU time (one core;
 * on a busy machine wall time also counts other processes' turns).
 */
function measure(mix: readonly RouteRequest[], seconds: number, fn: (req: RouteRequest, i: number) => unknown): number {
  let calls = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  const cpu0 = cpuMicros();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < mix.length; i++) if (fn(mix[i]!, i) !== undefined) sink++;
    calls += mix.length;
  }
  const cpu = cpuMicros() - cpu0;
  if (sink < 0) console.log(sink);
  return calls / (cpu / 1e6);
}

/** Requests per window of measureJustParsed: about 100 KB of heads and request objects, well inside L2. */
const WINDOW = 256;

/**
 * measure, with each request decided just after the gateway's parser built it, as in the data
 * plane, where decide reads strings the parser wrote microseconds before (over the whole mix
 * parsed up front, every request starts with data the cache may have lost).
 * Windows of WINDOW heads: the window is parsed and the young generation emptied (not timed),
 * then decided with the CPU time measured around the decisions alone. Without that minor GC,
 * the collections of the parser's garbage (about ten times what decide allocates) landed in
 * timed windows now and then, with GC threads' CPU counted too: per-window CPU time had a median
 * of ~420 ns per decision but a 99th percentile of ~4,000 ns, above the same windows' wall time,
 * and the row's mean followed that tail. The forced collection also takes the little garbage
 * decide leaves (its Decision objects and keys), which the plain row still collects while timed;
 * a collection of garbage with no survivors costs next to nothing. Paths, tokens and the memo
 * see the same requests as `measure`.
 */
function measureJustParsed(seconds: number, fn: (req: RouteRequest, i: number) => unknown): number {
  let calls = 0;
  let sink = 0;
  let spent = 0; // CPU microseconds inside the timed windows
  const window: RouteRequest[] = [];
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let w = 0; w < heads.length; w += WINDOW) {
      const end = Math.min(w + WINDOW, heads.length);
      window.length = 0;
      for (let i = w; i < end; i++) window.push(parser.parse(heads[i]!));
      if (!minorGc()) throw new Error('bench-routing: no minor GC available (gateway/memory.ts could not expose gc)');
      const cpu0 = cpuMicros();
      for (let i = 0; i < window.length; i++) if (fn(window[i]!, w + i) !== undefined) sink++;
      spent += cpuMicros() - cpu0;
    }
    calls += heads.length;
  }
  if (sink < 0) console.log(sink);
  return calls / (spent / 1e6);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(12);
}

const { config } = loadRoutesFile(args.routes);
const table = compileTable(config);
const nginxLike = precompiledSequential(config);
const heads = benchHeads(Number(args.seed), 20_000);
const parser = new HeadParser(table.headerNames);
const mix = heads.map((h) => parser.parse(h));
const naiveMix = mix.slice(0, 2_000);

// Sanity: all evaluators agree on the whole mix before anything is timed.
for (const r of mix) {
  const a = table.match(r)?.index ?? -1;
  if (a !== (sequentialMatch(config, r) ?? -1) || a !== nginxLike(r)) throw new Error(`evaluators disagree on ${JSON.stringify(r)}`);
}

// decide = denials + match + key extraction + balancer pick; this row isolates the last two.
const routeOf = mix.map((r) => table.match(r));
const keyAndPick = (r: RouteRequest, i: number): unknown => {
  const p = routeOf[i] ?? null;
  const balancer = p ? p.balancer : table.defaultUpstream.balancer;
  return balancer.pick(p?.extractKey ? p.extractKey(r) : null);
};
type Measure = (mix: readonly RouteRequest[], seconds: number, fn: (req: RouteRequest, i: number) => unknown) => number;
const contestants: [string, readonly RouteRequest[], number, (r: RouteRequest, i: number) => unknown, Measure][] = [
  ['compiled match', mix, 1, (r) => table.match(r), measure],
  ['compiled decide', mix, 1, (r) => table.decide(r), measure],
  ['compiled decide, request just parsed', mix, 1, (r) => table.decide(r), (_m, sec, fn) => measureJustParsed(sec, fn)],
  ['  of which key + pick alone', mix, 1, keyAndPick, measure],
  ['sequential (precompiled, nginx-like)', mix, 1, nginxLike, measure],
  ['sequential (naive reference)', naiveMix, 0.5, (r) => sequentialMatch(config, r), measure],
];
const seconds = Number(args.seconds);
const results = new Map<string, number[]>(contestants.map(([n]) => [n, []]));
for (const [, m, f, fn, how] of contestants) how(m, seconds * f * 0.3, fn); // warm-up
for (let round = 0; round < Number(args.rounds); round++) {
  for (const [name, m, f, fn, how] of contestants) results.get(name)!.push(how(m, seconds * f, fn));
}

const stats = table.matcher.dfaStats();
console.log(`routes: ${args.routes} (${config.routes.length} routes, ${table.matcher.regexCount} distinct regexes, ${table.matcher.fallbackCount} RegExp fallbacks, ${stats.states} DFA states, ${stats.flushes} flushes)`);
console.log(`mix: ${mix.length} requests (seed ${args.seed}); ${args.rounds} rounds, median decisions per CPU-second of one core (node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)\n`);
const base = median(results.get('sequential (precompiled, nginx-like)')!);
const naive = median(results.get('sequential (naive reference)')!);
console.log(`${'evaluator'.padEnd(38)}${'decisions/s'.padStart(12)}  ${'min'.padStart(12)}  ${'max'.padStart(12)}  ${'vs nginx-like'.padStart(13)}  ${'vs naive'.padStart(9)}`);
for (const [name, xs] of results) {
  const med = median(xs);
  console.log(`${name.padEnd(38)}${fmt(med)}  ${fmt(Math.min(...xs))}  ${fmt(Math.max(...xs))}  ${(med / base).toFixed(1).padStart(12)}x  ${(med / naive).toFixed(0).padStart(8)}x`);
}
