/**
 * `make bench-proxy`: runs the shared proxy benchmark (../shared/bench/run.sh) with direct-to-upstream, nginx, HAProxy
 * and the gateway in one run (issue 3, point 10). The gateway gets the same routing as nginx and
 * HAProxy: the harness's routes.json ($BENCH_ROUTES) is translated into a routes.yaml by
 * test/bench/routes-from-bench.ts inside the gateway's start command. Prints the harness's table
 * and the gateway/nginx ratios against the targets (req/s >= 0.5x nginx, p99 <= 2x nginx).
 *
 * Environment: BENCH_DIR (default ../shared/bench), BENCH_ARGS (extra run.sh arguments, e.g.
 * "--duration 10"; default "--rounds 3": three interleaved rounds, medians), GATEWAY_NODE_FLAGS (default: the GC flags chosen by measurement).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const benchDir = resolve(process.env.BENCH_DIR ?? join(root, '..', 'shared', 'bench'));
const port = 28090;
/**
 * Node flags chosen by measurement (test/bench/PROXY-CANDIDATES.md): without async context
 * frames 2-4 % less CPU per request; single-threaded GC, because the proxy is pinned to one core,
 * where V8's parallel and concurrent GC threads only time-slice against the main thread (p99 1.8x
 * nginx's instead of 2.2x in back-to-back runs); a 16 MB semi-space (with little in-flight state
 * surviving, fewer scavenges beat shorter ones: wrk p99 5.5 ms against 7-8 ms with 8 MB).
 */
export const GATEWAY_NODE_FLAGS = '--no-async-context-frame --max-semi-space-size=16 --single-threaded-gc';

function gatewayCommand(): string {
  const node = process.execPath;
  const flags = process.env.GATEWAY_NODE_FLAGS ?? GATEWAY_NODE_FLAGS;
  const yaml = '"$(mktemp /tmp/switchyard-bench-routes.XXXXXX.yaml)"';
  return `Y=${yaml}; ${node} ${root}/test/bench/routes-from-bench.ts "$BENCH_ROUTES" > "$Y" && exec ${node} ${flags} ${root}/gateway/cli.ts --routes "$Y" --no-access-log`;
}

interface Row { name: string; round: number; rps: number; p99: number }

function rows(resultsFile: string): Row[] {
  if (!existsSync(resultsFile)) return [];
  const out: Row[] = [];
  for (const line of readFileSync(resultsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { contestant?: string; round?: number; rps?: number; p99_ms?: number };
    out.push({ name: String(r.contestant), round: Number(r.round ?? 1), rps: Number(r.rps), p99: Number(r.p99_ms) });
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** gateway/nginx ratios per round and of the medians (the harness's table shows medians). */
function report(all: Row[]): void {
  const nginx = all.filter((r) => r.name === 'nginx');
  const gw = all.filter((r) => r.name === 'switchyard');
  if (nginx.length === 0 || gw.length === 0) return;
  for (const g of gw) {
    const n = nginx.find((r) => r.round === g.round);
    if (n) console.log(`round ${g.round}: switchyard vs nginx req/s ${(g.rps / n.rps).toFixed(2)}x, p99 ${(g.p99 / n.p99).toFixed(2)}x`);
  }
  const rps = median(gw.map((r) => r.rps)) / median(nginx.map((r) => r.rps));
  const p99 = median(gw.map((r) => r.p99)) / median(nginx.map((r) => r.p99));
  console.log(`\nswitchyard vs nginx (medians): req/s ${rps.toFixed(2)}x (target >= 0.5x), p99 ${p99.toFixed(2)}x (target <= 2x)`);
}

async function main(): Promise<number> {
  if (!existsSync(join(benchDir, 'run.sh'))) {
    console.error(`bench-proxy: ${benchDir}/run.sh not found (set BENCH_DIR)`);
    return 2;
  }
  const resultsDir = join(root, 'test', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const results = join(resultsDir, `proxy-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const extra = (process.env.BENCH_ARGS ?? '--rounds 3').split(/\s+/).filter(Boolean);
  const args = [join(benchDir, 'run.sh'), '--only', 'direct,nginx,haproxy,gateway', '--gateway', gatewayCommand(), '--gateway-port', String(port),
    '--gateway-name', 'switchyard', '--results', results, ...extra];
  const code = await new Promise<number>((res) => spawn('bash', args, { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1)));
  report(rows(results));
  console.log(`results: ${results}`);
  return code;
}

process.exitCode = await main();
