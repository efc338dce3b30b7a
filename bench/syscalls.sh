#!/usr/bin/env bash
# Syscalls per proxied request, nginx and Rampart in one run, counted by strace.
# Same setup as proxy.sh (nginx upstream with a 100-byte body, 1 worker, the five security headers,
# access log off; nginx with `master_process off` so the traced process is the worker itself).
# For each proxy in turn: a 2 s wrk warm-up, then `strace -f -c` attaches to every thread of the
# proxy while `wrk -t1 -c10` runs for DUR seconds, and each syscall's count is divided by the
# requests wrk completed. strace slows the proxies down a lot, so only the counts mean anything.
# epoll_wait depends on how many events one wakeup brings (load, timing), so the total is also
# given without it.
# Usage: bash bench/syscalls.sh [duration_s=5]     (RAMPART_BIN=path measures that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-5}
source bench/lib.sh
need nginx wrk strace
BIN=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-syscalls.XXXXXX)
UP=18490; NGX=18491; RMP=18492
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"
nginx_proxy_conf $OUT $NGX $UP "master_process off;"
proxy_gateway_json $RMP null http://127.0.0.1:$UP > $OUT/gateway.json
pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
nginx -c $OUT/proxy.conf -p $OUT & NGX_PID=$!; pids+=($NGX_PID)
$BIN serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 & RMP_PID=$!; pids+=($RMP_PID)
for p in $UP $NGX $RMP; do wait_http http://127.0.0.1:$p/; done

trace() { # NAME PORT PID : sets TRACED to the requests wrk completed; strace's table in $OUT/NAME.strace
  local name=$1 port=$2 pid=$3 t i
  wrk -t1 -c10 -d2s http://127.0.0.1:$port/ >/dev/null      # warm-up: pools, caches, first allocations
  strace -f -c -o $OUT/$name.strace -p $pid 2>$OUT/$name.strace.log & local st=$!; pids+=($st)
  for i in $(seq 1 100); do                                  # until every thread is traced
    t=$(cat /proc/$pid/task/*/status 2>/dev/null | awk '/^TracerPid/ && $2 == 0 {n++} END {print n+0}')
    [ "$t" = 0 ] && break; sleep 0.1
  done
  wrk -t1 -c10 -d${DUR}s http://127.0.0.1:$port/ > $OUT/$name.wrk
  kill -INT $st; wait $st 2>/dev/null || true
  TRACED=$(awk '/requests in/{print $1}' $OUT/$name.wrk)
}
trace nginx $NGX $NGX_PID; NN=$TRACED
trace rampart $RMP $RMP_PID; RN=$TRACED

echo "strace -f -c during wrk -t1 -c10 -d${DUR}s: nginx $NN requests, rampart $RN requests"
python3 - $OUT/nginx.strace $NN $OUT/rampart.strace $RN <<'PY'
import sys
def table(path):  # strace -c: "% time seconds usecs/call calls [errors] syscall"
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != 'total':
            calls[f[-1]] = calls.get(f[-1], 0) + int(f[3])
    return calls
n, r = table(sys.argv[1]), table(sys.argv[3])
nn, rn = int(sys.argv[2]), int(sys.argv[4])
names = sorted(set(n) | set(r), key=lambda s: -(r.get(s, 0) / rn + n.get(s, 0) / nn))
print(f"{'syscall':<18} {'nginx/req':>10} {'rampart/req':>12}")
for s in names:
    a, b = n.get(s, 0) / nn, r.get(s, 0) / rn
    if a >= 0.0005 or b >= 0.0005:
        print(f"{s:<18} {a:>10.3f} {b:>12.3f}")
tn, tr = sum(n.values()) / nn, sum(r.values()) / rn
xn = tn - n.get('epoll_wait', 0) / nn; xr = tr - r.get('epoll_wait', 0) / rn
print(f"{'total':<18} {tn:>10.3f} {tr:>12.3f}")
print(f"{'total-epoll_wait':<18} {xn:>10.3f} {xr:>12.3f}")
print()
print(f"nginx: {tn:.2f} syscalls per request ({xn:.2f} without epoll_wait); "
      f"rampart: {tr:.2f} ({xr:.2f}); rampart/nginx: {tr/tn:.2f} x ({xr/xn:.2f} x without epoll_wait)")
PY
echo "strace tables: $OUT/nginx.strace $OUT/rampart.strace"
