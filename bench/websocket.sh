#!/usr/bin/env bash
# WebSocket through nginx and through Rampart in one run: messages per second, proxy CPU per
# message, and memory per open socket.
#   upstream: the demo app's /ws/echo (rampart-demo-app, a thread per connection), on CPU 1
#   client:   bench/ws_client.py on raw sockets, on CPU 1
#   A: nginx (1 worker on CPU 0, proxy_http_version 1.1 with Upgrade/Connection passed, the five
#      security headers, access log off, proxy_read_timeout 1h)
#   B: Rampart (1 worker on CPU 0, the same headers, access log off, "websocket": true with
#      max_per_user and max_connections above N)
# Throughput: CONNS sockets each send WINDOW binary messages of SIZE bytes and wait for their
# echoes, for SECONDS; the proxy's CPU time (utime + stime from /proc) over the run divided by
# the messages gives CPU per message (each message crosses the proxy twice: there and back).
# Memory: N sockets opened and held; VmRSS of the proxy's processes before and after, over N.
# Bounded by max_seconds; everything it starts is stopped.
# Usage: bash bench/websocket.sh [seconds=10] [conns=50] [size=64] [window=16] [sockets=4000] [max_seconds=300]
#   RAMPART_BIN=path measures that binary without building.
set -euo pipefail
DUR=${1:-10}; CONNS=${2:-50}; SIZE=${3:-64}; WINDOW=${4:-16}; N=${5:-4000}; MAX=${6:-300}
[ -n "${WS_BENCH_BOUNDED:-}" ] || WS_BENCH_BOUNDED=1 exec timeout -k 10 "$MAX" bash "$0" "$@"
cd "$(dirname "$0")/.."
source bench/lib.sh
need nginx curl python3
BIN=$(release_bin)
DEMO=$(dirname "$BIN")/rampart-demo-app
[ -x "$DEMO" ] || (flock /tmp/rampart-build.lock swift build -c release --product rampart-demo-app >/dev/null)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
OUT=$(mktemp -d /tmp/rampart-ws.XXXXXX)
UP=18690; NGX=18691; RMP=18692

cat > $OUT/proxy.conf <<NGINX
worker_processes 1; daemon off; pid $OUT/proxy.pid; error_log $OUT/proxy.err; worker_rlimit_nofile $NOFILE;
events { worker_connections $((2 * N + 1000)); }
http { access_log off;
  server { listen 127.0.0.1:$NGX;
    location / { proxy_pass http://127.0.0.1:$UP; proxy_http_version 1.1;
                 proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection "upgrade";
                 proxy_read_timeout 1h; proxy_send_timeout 1h; $SECURITY_HEADERS_NGX } } }
NGINX
cat > $OUT/gateway.json <<JSON
{ "server": {"listen": "127.0.0.1:$RMP", "workers": 1, "max_connections": $((N + 1000)),
             "drain_delay": "0s", "drain_timeout_ms": 2000},
  "admin": {"listen": null},
  "store": {"kind": "memory", "dir": "$OUT/store"},
  "upstreams": {"app": {"url": "http://127.0.0.1:$UP"}},
  "headers": {"set": $SECURITY_HEADERS_JSON},
  "routes": [{"name": "default", "match": {"path_prefix": "/"},
              "websocket": {"max_per_user": $((N + 1000)), "idle": "1h", "ping_interval": "30m"}}],
  "logging": {"access_log": false} }
JSON
$BIN check --config $OUT/gateway.json >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'echo "websocket.sh: stopped (the ${MAX} s bound, or a signal)" >&2; exit 1' TERM INT
taskset -c 1 $DEMO --port $UP > $OUT/upstream.log 2>&1 & pids+=($!)
wait_http http://127.0.0.1:$UP/healthz


measure() { # NAME PORT PID : sets MEASURED to "rate messages cpu_us_per_message rss_before rss_open"
  local name=$1 port=$2 procs c0 c1 line b a
  wait_http http://127.0.0.1:$port/healthz; sleep 1
  procs=$(tree $3); c0=$(cpu_ticks $procs)
  taskset -c 1 python3 bench/ws_client.py throughput $port $CONNS $DUR $SIZE $WINDOW > $OUT/$name.tp 2>&1 \
    || { echo "$name: $(cat $OUT/$name.tp)" >&2; return 1; }
  c1=$(cpu_ticks $procs); line=$(cat $OUT/$name.tp)
  local msgs rate; msgs=$(awk '{print $2}' <<< "$line"); rate=$(awk '{print $6}' <<< "$line")
  sleep 1; procs=$(tree $3); b=$(rss_kib $procs)
  taskset -c 1 python3 bench/ws_client.py hold $port $N < /dev/null > $OUT/$name.hold 2>&1 & local cl=$!; pids+=($cl)
  until grep -q '^open' $OUT/$name.hold; do
    kill -0 $cl 2>/dev/null || { echo "$name: the client died: $(cat $OUT/$name.hold)" >&2; return 1; }
    sleep 0.2
  done
  grep -q "^open $N failed 0" $OUT/$name.hold || { echo "$name: $(cat $OUT/$name.hold)" >&2; return 1; }
  sleep 2; procs=$(tree $3); a=$(rss_kib $procs)
  kill -TERM $cl; wait $cl 2>/dev/null || true
  MEASURED="$rate $msgs $(( (c1 - c0) * 10000 )) $b $a"   # ticks are 10 ms: microseconds of CPU in all
}

taskset -c 0 nginx -c $OUT/proxy.conf -p $OUT & NPID=$!; pids+=($NPID)
measure nginx $NGX $NPID; read NR NM NCPU NB NA <<< "$MEASURED"
kill $NPID; wait $NPID 2>/dev/null || true
taskset -c 0 $BIN serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 & RPID=$!; pids+=($RPID)
measure rampart $RMP $RPID; read RR RM RCPU RB RA <<< "$MEASURED"
kill $RPID; wait $RPID 2>/dev/null || true

echo "WebSocket echo through each proxy (1 worker on CPU 0): $CONNS sockets x $WINDOW messages of $SIZE bytes in flight, ${DUR} s; then $N sockets held"
python3 - "$N" "$NR" "$NM" "$NCPU" "$NB" "$NA" "$RR" "$RM" "$RCPU" "$RB" "$RA" <<'PY'
import sys
n = int(sys.argv[1]); v = list(map(float, sys.argv[2:]))
rows = {"nginx": v[0:5], "rampart": v[5:10]}
print(f"{'proxy':8} {'messages/s':>11} {'cpu_us/msg':>11} {'KiB/socket':>11}")
out = {}
for name, (rate, msgs, cpu, before, after) in rows.items():
    out[name] = (rate, cpu / msgs, (after - before) / n)
    print(f"{name:8} {rate:11.0f} {cpu / msgs:11.2f} {(after - before) / n:11.2f}")
(nr, nc, nk), (rr, rc, rk) = out["nginx"], out["rampart"]
print(f"rampart/nginx: messages/s {rr / nr:.2f}x, CPU per message {rc / nc:.2f}x, memory per socket {rk / nk:.2f}x")
PY
