#!/usr/bin/env bash
# HTTP/2 at the front door: nginx (`listen ... http2`, prior knowledge) and Rampart
# (`server.http2` with `h2c`) in one run, each one worker on CPU 0, in front of the same upstream.
#   1. h2load (Debian nghttp2-client) on CPU 1: N requests over C connections, M streams each, to
#      an nginx upstream answering 100 bytes (on CPU 1); requests per second and the proxy's CPU
#      time per request (utime + stime from /proc over the run).
#   2. memory per open SSE stream over HTTP/2: bench/h2_sse_client.py opens CONNS x STREAMS
#      streams to bench/sse_upstream.py (each held after its first event); VmRSS before and after.
# Bounded by max_seconds; everything it starts is stopped.
# Usage: bash bench/http2.sh [requests=200000] [connections=10] [streams_per_conn=10] [sse_conns=50] [sse_streams=100] [max_seconds=300]
#   RAMPART_BIN=path measures that binary without building.
set -euo pipefail
N=${1:-200000}; C=${2:-10}; M=${3:-10}; SC=${4:-50}; SS=${5:-100}; MAX=${6:-300}
[ -n "${H2_BENCH_BOUNDED:-}" ] || H2_BENCH_BOUNDED=1 exec timeout -k 10 "$MAX" bash "$0" "$@"
cd "$(dirname "$0")/.."
source bench/lib.sh
need nginx h2load curl python3
BIN=$(release_bin)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
OUT=$(mktemp -d /tmp/rampart-h2.XXXXXX)
UP=18790; SSEUP=18793; NGX=18791; RMP=18792
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"

proxy_conf() { # PORT UPSTREAM_PORT
  cat > $OUT/proxy-$1.conf <<NGINX
worker_processes 1; daemon off; pid $OUT/proxy-$1.pid; error_log $OUT/proxy.err;
events { worker_connections 20000; }
http { access_log off; keepalive_requests 1000000; http2_max_concurrent_streams 1000;
  upstream app { server 127.0.0.1:$2; keepalive 128; }
  server { listen 127.0.0.1:$1 http2;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_read_timeout 1h; $SECURITY_HEADERS_NGX } } }
NGINX
}
gateway() { # PORT UPSTREAM_PORT
  cat > $OUT/gateway-$1.json <<JSON
{ "server": {"listen": "127.0.0.1:$1", "workers": 1, "max_connections": 20000, "drain_delay": "0s", "drain_timeout_ms": 2000,
             "http2": {"enabled": true, "h2c": true, "max_concurrent_streams": 1000}},
  "admin": {"listen": null}, "store": {"kind": "memory", "dir": "$OUT/store"},
  "upstreams": {"app": {"url": "http://127.0.0.1:$2", "max_in_flight": 20000,
                        "timeouts": {"first_byte": "30s", "idle": "1h", "total": "1h"}}},
  "headers": {"set": $SECURITY_HEADERS_JSON},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}}], "logging": {"access_log": false} }
JSON
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'echo "http2.sh: stopped (the ${MAX} s bound, or a signal)" >&2; exit 1' TERM INT
taskset -c 1 nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
taskset -c 1 python3 bench/sse_upstream.py $SSEUP --ping 0 > $OUT/sse-upstream.log 2>&1 & pids+=($!)
wait_http http://127.0.0.1:$UP/; wait_http http://127.0.0.1:$SSEUP/ok


start() { # NAME UPSTREAM_PORT : starts the proxy on CPU 0, sets PROXY_PID
  if [ $1 = nginx ]; then proxy_conf $NGX $2; taskset -c 0 nginx -c $OUT/proxy-$NGX.conf -p $OUT & PROXY_PID=$!
  else gateway $RMP $2; taskset -c 0 $BIN serve --config $OUT/gateway-$RMP.json > $OUT/rampart.log 2>&1 & PROXY_PID=$!; fi
  pids+=($PROXY_PID)
  local port; port=$([ $1 = nginx ] && echo $NGX || echo $RMP)
  for i in $(seq 1 100); do curl -sf --http2-prior-knowledge -o /dev/null http://127.0.0.1:$port/ok && return 0; sleep 0.1; done
  curl -sf --http2-prior-knowledge -o /dev/null http://127.0.0.1:$port/ || true
}
stop() { kill $PROXY_PID; wait $PROXY_PID 2>/dev/null || true; }

throughput() { # NAME PORT : "req/s cpu_microseconds requests"
  local procs c0 c1 rps done
  start $1 $UP; procs=$(tree $PROXY_PID)
  taskset -c 1 h2load -n 20000 -c $C -m $M http://127.0.0.1:$2/ > /dev/null 2>&1   # warm-up
  c0=$(cpu_ticks $procs)
  taskset -c 1 h2load -n $N -c $C -m $M http://127.0.0.1:$2/ > $OUT/$1.h2load 2>&1
  c1=$(cpu_ticks $procs)
  stop
  grep -q "$N succeeded" $OUT/$1.h2load || { echo "$1: not every request succeeded" >&2; grep -E "requests:|status codes" $OUT/$1.h2load >&2; }
  rps=$(awk '/finished in/{print $4}' $OUT/$1.h2load); done=$(awk '/^requests:/{print $8}' $OUT/$1.h2load)
  echo "$rps $(( (c1 - c0) * 10000 )) $done"   # ticks are 10 ms
}

streams() { # NAME PORT : "rss_before rss_open"
  local procs b a cl
  start $1 $SSEUP; procs=$(tree $PROXY_PID); sleep 1; b=$(rss_kib $procs)
  taskset -c 1 python3 bench/h2_sse_client.py $2 $SC $SS > $OUT/$1.sse 2>&1 & cl=$!; pids+=($cl)
  until grep -q '^open' $OUT/$1.sse; do kill -0 $cl 2>/dev/null || { echo "$1: $(cat $OUT/$1.sse)" >&2; return 1; }; sleep 0.2; done
  grep -q "^open $((SC * SS)) failed 0" $OUT/$1.sse || { echo "$1: $(cat $OUT/$1.sse)" >&2; return 1; }
  sleep 2; procs=$(tree $PROXY_PID); a=$(rss_kib $procs)
  kill -TERM $cl; wait $cl 2>/dev/null || true
  stop
  echo "$b $a"
}

read NRPS NCPU NDONE <<< "$(throughput nginx $NGX)"
read RRPS RCPU RDONE <<< "$(throughput rampart $RMP)"
read NB NA <<< "$(streams nginx $NGX)"
read RB RA <<< "$(streams rampart $RMP)"
echo "HTTP/2 prior knowledge, 1 worker each on CPU 0; h2load -n $N -c $C -m $M; then $((SC * SS)) SSE streams over $SC connections"
python3 - $((SC * SS)) $NRPS $NCPU $NDONE $NB $NA $RRPS $RCPU $RDONE $RB $RA <<'PY'
import sys
n = int(sys.argv[1]); v = list(map(float, sys.argv[2:]))
rows = {name: (r[0], r[1] / r[2], r[3], r[4]) for name, r in (("nginx", v[0:5]), ("rampart", v[5:10]))}
print(f"{'proxy':8} {'req/s':>10} {'cpu_us/req':>11} {'KiB/stream':>11}")
for name, (rps, cpu, b, a) in rows.items():
    print(f"{name:8} {rps:10.0f} {cpu:11.2f} {(a - b) / n:11.2f}")
(nr, nc, nb, na), (rr, rc, rb, ra) = rows["nginx"], rows["rampart"]
print(f"rampart/nginx: req/s {rr / nr:.2f}x, CPU per request {rc / nc:.2f}x, memory per stream {((ra - rb) / n) / ((na - nb) / n):.2f}x")
PY
