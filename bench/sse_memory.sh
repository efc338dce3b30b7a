#!/usr/bin/env bash
# Memory per open SSE stream, nginx and Rampart in one run.
#   upstream: bench/sse_upstream.py (Python asyncio), which answers each GET / with a
#             text/event-stream, one `data: hello` event, and then holds the stream open
#   client:   bench/sse_client.py opens N streams through the proxy, reads each one's first event,
#             and holds them all open
#   A: nginx (1 worker, keep-alive upstream pool, the five security headers, access log off,
#      proxy_buffering off as an SSE deployment has it, proxy_read_timeout 1h)
#   B: Rampart (1 worker, the same headers, access log off, max_connections and max_in_flight
#      above N, upstream idle/total timeouts 1h so no stream is cut while it is measured)
# For each proxy in turn: VmRSS (summed over its processes, nginx's master and worker) is read
# from /proc after one request and again 2 s after all N streams are open; the difference over N
# is the memory per open stream. Also shows the proxies' open fds (each stream holds two: client
# and upstream), and how many streams a proxy had cut by the time the client closed them (should
# be 0). The whole run is bounded by max_seconds; everything it starts is stopped.
# Usage: bash bench/sse_memory.sh [streams=9000] [max_seconds=600]
#   RAMPART_BIN=path measures that binary without building; HOLD=S keeps the streams open S more
#   seconds after measuring, and PING=S sets the upstream's comment interval (default 20, 0: none),
#   e.g. HOLD=45 PING=0 shows that no timeout cuts an idle stream.
set -euo pipefail
N=${1:-9000}; MAX=${2:-600}
# The total bound: the script re-runs itself under timeout(1), whose TERM reaches every process.
[ -n "${SSE_BENCH_BOUNDED:-}" ] || SSE_BENCH_BOUNDED=1 exec timeout -k 10 "$MAX" bash "$0" "$@"
cd "$(dirname "$0")/.."
source bench/lib.sh
need nginx curl python3
BIN=$(release_bin)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # the hard limit may be lower
NOFILE=$(ulimit -n)
[ $((2 * N + 100)) -le "$NOFILE" ] || { echo "$N streams need $((2 * N + 100)) fds per proxy, the limit is $NOFILE" >&2; exit 1; }
OUT=$(mktemp -d /tmp/rampart-sse.XXXXXX)
UP=18590; NGX=18591; RMP=18592

nginx_proxy_conf $OUT $NGX $UP "worker_rlimit_nofile $NOFILE;" 40000 "proxy_buffering off; proxy_read_timeout 1h;"
cat > $OUT/gateway.json <<JSON
{ "server": {"listen": "127.0.0.1:$RMP", "workers": 1, "max_connections": $((N + 1000)),
             "drain_delay": "0s", "drain_timeout_ms": 2000},
  "admin": {"listen": null},
  "store": {"kind": "memory", "dir": "$OUT/store"},
  "upstreams": {"app": {"url": "http://127.0.0.1:$UP", "max_in_flight": $((N + 1000)),
                        "timeouts": {"first_byte": "30s", "idle": "1h", "total": "1h"}}},
  "headers": {"set": $SECURITY_HEADERS_JSON},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}}],
  "logging": {"access_log": false} }
JSON
$BIN check --config $OUT/gateway.json >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'echo "sse_memory.sh: stopped (the ${MAX} s bound, or a signal)" >&2; exit 1' TERM INT
python3 bench/sse_upstream.py $UP --ping ${PING:-20} > $OUT/upstream.log 2>&1 & pids+=($!)
wait_http http://127.0.0.1:$UP/ok


measure() { # NAME PORT PID : sets MEASURED to "rss_before rss_after fds_before fds_after seconds_to_open cut"
  local name=$1 port=$2 procs b fb t0 a fa
  wait_http http://127.0.0.1:$port/ok; sleep 1
  procs=$(tree $3); b=$(rss_kib $procs); fb=$(fds $procs); t0=$(date +%s.%N)
  python3 bench/sse_client.py $port $N --hold $MAX < /dev/null > $OUT/$name.client 2>&1 & local cl=$!; pids+=($cl)
  until grep -q '^open' $OUT/$name.client; do
    kill -0 $cl 2>/dev/null || { echo "$name: the client died" >&2; cat $OUT/$name.client >&2; return 1; }
    sleep 0.2
  done
  t0=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" $t0)
  grep -q "^open $N failed 0" $OUT/$name.client || { echo "$name: $(cat $OUT/$name.client)" >&2; return 1; }
  sleep 2
  procs=$(tree $3); a=$(rss_kib $procs); fa=$(fds $procs)
  sleep ${HOLD:-0}
  kill -TERM $cl; wait $cl 2>/dev/null || true
  MEASURED="$b $a $fb $fa $t0 $(awk '/^closed/{print $4}' $OUT/$name.client)"
}

nginx -c $OUT/proxy.conf -p $OUT & NPID=$!; pids+=($NPID)
measure nginx $NGX $NPID; read NB NA NFB NFA NT NC <<< "$MEASURED"
kill $NPID; wait $NPID 2>/dev/null || true
$BIN serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 & RPID=$!; pids+=($RPID)
measure rampart $RMP $RPID; read RB RA RFB RFA RT RC <<< "$MEASURED"
kill $RPID; wait $RPID 2>/dev/null || true

echo "$N SSE streams open at once through each proxy (1 worker each); VmRSS of the proxy's processes"
printf '%-8s %14s %14s %10s %10s %8s %5s\n' proxy rss_before_KiB rss_open_KiB fds_before fds_open open_s cut
printf '%-8s %14s %14s %10s %10s %8s %5s\n' nginx $NB $NA $NFB $NFA $NT $NC
printf '%-8s %14s %14s %10s %10s %8s %5s\n' rampart $RB $RA $RFB $RFA $RT $RC
python3 -c "
import sys; n, nb, na, rb, ra = map(int, sys.argv[1:])
x, y = (na - nb) / n, (ra - rb) / n
print(f'nginx: {x:.2f} KiB per open stream; rampart: {y:.2f} KiB; rampart/nginx: {y / x:.2f} x')" $N $NB $NA $RB $RA
