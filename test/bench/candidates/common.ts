/**
 * Shared bits of the proxy-candidate benchmark (test/bench/candidates/run.sh): each candidate is a
 * plain proxy (no routing) that forwards every request to one upstream of the shared/bench
 * deployment, so the candidates compare the cost of the proxying approach alone.
 */
import { readFileSync } from 'node:fs';

/** Port to listen on (BENCH_PORT, set by shared/bench/run.sh). */
export const listenPort = Number(process.env.BENCH_PORT ?? 28090);

/** Port of the upstream the candidate forwards to: client1 from BENCH_UPSTREAMS (name, class, port). */
export function targetPort(): number {
  const file = process.env.BENCH_UPSTREAMS;
  if (!file) return 28004;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [name, , port] = line.split('\t');
    if (name === 'client1' && port) return Number(port);
  }
  return 28004;
}

/** Stops on SIGTERM (the harness stops contestants that way). */
export function exitOnTerm(): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
}
