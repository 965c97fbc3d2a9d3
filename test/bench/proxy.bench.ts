/**
 * `make bench-proxy`: runs the shared proxy benchmark (../shared/bench/run.sh) with direct-to-upstream, nginx, HAProxy
 * and the gateway in one run (issue 3, point 10). The gateway gets the same routing as nginx and
 * HAProxy: the harness's routes.json ($BENCH_ROUTES) is translated into a routes.yaml by
 * test/bench/routes-from-bench.ts inside the gateway's start command. Prints the harness's table
 * and the gateway/nginx ratios against the targets (req/s >= 0.5x nginx, p99 <= 2x nginx).
 *
 * Environment: BENCH_DIR (default ../shared/bench), BENCH_ARGS (extra run.sh arguments, e.g.
 * "--rounds 3"), GATEWAY_NODE_FLAGS (default: the GC flags chosen by measurement).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const benchDir = resolve(process.env.BENCH_DIR ?? join(root, '..', 'shared', 'bench'));
const port = 28090;
/**
 * Node flags chosen by measurement (test/bench/PROXY-CANDIDATES.md): without async context
 * frames 2-4 % less CPU per request; an 8 MB semi-space keeps scavenges short (median 2.5 ms,
 * worst 10 ms, against 10-18 ms and 31 ms with Node's default on this 24 GB machine) at the same
 * CPU per request, which is what the p99 sees.
 */
export const GATEWAY_NODE_FLAGS = '--no-async-context-frame --max-semi-space-size=8';

function gatewayCommand(): string {
  const node = process.execPath;
  const flags = process.env.GATEWAY_NODE_FLAGS ?? GATEWAY_NODE_FLAGS;
  const yaml = '"$(mktemp /tmp/switchyard-bench-routes.XXXXXX.yaml)"';
  return `Y=${yaml}; ${node} ${root}/test/bench/routes-from-bench.ts "$BENCH_ROUTES" > "$Y" && exec ${node} ${flags} ${root}/gateway/cli.ts --routes "$Y" --no-access-log`;
}

interface Row { name: string; rps: number; p99: number }

function rows(resultsFile: string): Row[] {
  if (!existsSync(resultsFile)) return [];
  const out: Row[] = [];
  for (const line of readFileSync(resultsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { contestant?: string; rps?: number; p99_ms?: number };
    out.push({ name: String(r.contestant), rps: Number(r.rps), p99: Number(r.p99_ms) });
  }
  return out;
}

async function main(): Promise<number> {
  if (!existsSync(join(benchDir, 'run.sh'))) {
    console.error(`bench-proxy: ${benchDir}/run.sh not found (set BENCH_DIR)`);
    return 2;
  }
  const resultsDir = join(root, 'test', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const results = join(resultsDir, `proxy-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const extra = (process.env.BENCH_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [join(benchDir, 'run.sh'), '--only', 'direct,nginx,haproxy,gateway', '--gateway', gatewayCommand(), '--gateway-port', String(port),
    '--gateway-name', 'switchyard', '--results', results, ...extra];
  const code = await new Promise<number>((res) => spawn('bash', args, { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1)));
  const all = rows(results);
  const nginx = all.find((r) => r.name === 'nginx');
  const gw = all.find((r) => r.name === 'switchyard');
  if (nginx && gw && nginx.rps > 0 && nginx.p99 > 0) {
    const rpsRatio = gw.rps / nginx.rps;
    const p99Ratio = gw.p99 / nginx.p99;
    console.log(`\nswitchyard vs nginx: req/s ${rpsRatio.toFixed(2)}x (target >= 0.5x), p99 ${p99Ratio.toFixed(2)}x (target <= 2x)`);
  }
  console.log(`results: ${results}`);
  return code;
}

process.exitCode = await main();
