#!/usr/bin/env bash
# Rampart vs nginx as a reverse proxy, in one run, on this machine.
#   upstream: nginx returning a ~100-byte body (1 worker)
#   A: nginx proxy (1 worker, keep-alive upstream pool, the same 5 security headers added)
#   B: Rampart (1 worker, same headers, access log off like nginx's)
# Both proxies are pinned to CPU 0; wrk and the upstream share CPU 1. Rounds alternate A/B.
# CPU per request is the proxy's user + system time over the round (from /proc), divided by the
# requests wrk completed.
# Usage: bash bench/proxy.sh [duration_s=10] [connections=50] [rounds=2]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}; CONNS=${2:-50}; ROUNDS=${3:-2}
source bench/lib.sh
need nginx wrk
NGINX=$(command -v nginx)
RAMPART=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-bench.XXXXXX)
UP=18090; NGX=18091; RMP=18092
BODY=$(printf 'x%.0s' $(seq 1 100))
upstream_conf $OUT $UP "$BODY"
nginx_proxy_conf $OUT $NGX $UP
proxy_gateway_json $RMP null http://127.0.0.1:$UP > $OUT/gateway.json

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
taskset -c 1 $NGINX -c $OUT/upstream.conf -p $OUT & pids+=($!)
taskset -c 0 $NGINX -c $OUT/proxy.conf -p $OUT & NGINX_PID=$!; pids+=($NGINX_PID)
taskset -c 0 $RAMPART serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 & RAMPART_PID=$!; pids+=($RAMPART_PID)
for p in $UP $NGX $RMP; do
  for i in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:$p/ && break; sleep 0.1; done
done
curl -sfi http://127.0.0.1:$RMP/ | grep -qi 'x-frame-options: DENY' || { echo "rampart not proxying"; cat $OUT/rampart.log; exit 1; }

# CPU time (user + system, clock ticks) of a proxy: nginx's master and worker, Rampart's threads.
cpu_ticks() { local t=0 p; for p in $1 $(pgrep -P $1); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

run() { # name port [pid] -> "rps p50_ms p99_ms non2xx cpu_us_per_request"
  local before=0; [ -n "${3:-}" ] && before=$(cpu_ticks $3)
  taskset -c 1 wrk -t1 -c$CONNS -d${DUR}s --latency http://127.0.0.1:$2/ > $OUT/$1.txt 2>&1
  local after=0; [ -n "${3:-}" ] && after=$(cpu_ticks $3)
  local requests=$(grep -oE '[0-9]+ requests in' $OUT/$1.txt | awk '{print $1}')
  echo "$(wrk_figures "$OUT/$1.txt") $(python3 -c "print(f'{($after - $before) * $TICK_US / max($requests, 1):.2f}' if $after > 0 else '-')")"
}

echo "wrk -t1 -c$CONNS -d${DUR}s, $ROUNDS alternating rounds; proxies pinned to CPU 0, wrk+upstream on CPU 1"
printf '%-10s %-6s %10s %9s %9s %6s %12s\n' target round req/s p50_ms p99_ms non2xx cpu_us/req
declare -A RPS P50 P99 CPU
for r in $(seq 1 $ROUNDS); do
  for t in upstream nginx rampart; do
    port=$([ $t = upstream ] && echo $UP || ([ $t = nginx ] && echo $NGX || echo $RMP))
    pid=$([ $t = upstream ] && echo "" || ([ $t = nginx ] && echo $NGINX_PID || echo $RAMPART_PID))
    read rps p50 p99 errs cpu < <(run $t-$r $port $pid)
    printf '%-10s %-6s %10s %9s %9s %6s %12s\n' $t $r $rps $p50 $p99 $errs $cpu
    RPS[$t]="${RPS[$t]:-} $rps"; P50[$t]="${P50[$t]:-} $p50"; P99[$t]="${P99[$t]:-} $p99"; CPU[$t]="${CPU[$t]:-} $cpu"
  done
done
python3 - "${RPS[nginx]}" "${RPS[rampart]}" "${P50[nginx]}" "${P50[rampart]}" "${P99[nginx]}" "${P99[rampart]}" "${RPS[upstream]}" \
  "${CPU[nginx]}" "${CPU[rampart]}" <<'PY'
import sys, statistics as st
f = lambda s: st.median(float(x) for x in s.split())
rn, rr, pn, pr, qn, qr, up, cn, cr = map(f, sys.argv[1:10])
print()
print(f"median req/s: upstream direct {up:.0f}, nginx {rn:.0f}, rampart {rr:.0f}")
print(f"median CPU per request (user + system): nginx {cn:.2f} us, rampart {cr:.2f} us")
print(f"rampart/nginx: throughput {rr/rn:.2f}x, CPU per request {cr/cn:.2f}x, p50 {pr/pn:.2f}x, p99 {qr/qn:.2f}x")
PY
