#!/usr/bin/env bash
# Overload drill (issue 20, point 5), nginx and Rampart in one run, everything on 127.0.0.1.
#   upstream: nginx returning a 100-byte body (upstream_conf)
#   A: nginx as the proxy (nginx_proxy_conf: 1 worker, keep-alive upstream pool, the five security
#      headers, access log off; worker_connections and worker_rlimit_nofile at the fd limit)
#   B: Rampart (1 worker, the same headers, access log off, max_connections above the held count)
#   client: bench/overload_clients.py, one Python process with selectors for every held socket
# Both proxies keep idle keep-alive connections 600 s (keepalive_timeout), so the idle ones stay
# held; the header timeouts are the defaults (Rampart header_timeout_ms 10 s, nginx
# client_header_timeout 60 s). For each proxy in turn:
#   1. drill: the proxy pinned to CPU 0 (wrk, upstream and client on CPU 1, as in proxy.sh).
#      wrk -t1 -c20 -d5s --latency with nothing held (also the warm-up); VmRSS (summed over the
#      proxy's processes) and open fds; IDLE idle keep-alive connections (one GET answered each,
#      then silent) and LORIS slow-loris sockets (a request head, one byte every 3 s; one the proxy
#      closes is replaced, so LORIS stay open); VmRSS and fds again, and KiB per held connection;
#      then wrk -t1 -c20 -d10s --latency while all are held (the figure to meet: p99 < 10 ms), how
#      many slow-loris sockets the proxy closed (answered 408, or closed silently), whether any
#      idle one was dropped and whether the proxy is still alive.
#   2. fd limit: the proxy restarted under `prlimit --nofile=256:256` (nginx also with
#      worker_rlimit_nofile 256 and worker_connections 512), not pinned. Keep-alive connections
#      are opened one by one until a new one is no longer served (no 200 within 2 s) and held;
#      then for 10 s, 10 new connections a second, each waiting at most 3 s: how many got an HTTP
#      answer (by status), were closed without one, were reset at connect, or hung to the timeout;
#      whether 5 of the held connections are still served; the proxy's CPU during those 10 s
#      (utime+stime from /proc/PID/stat, % of one core); then the held ones are released and the
#      time until a new request is served again is shown.
#   3. connection cap: the same with fds to spare and the proxy's own cap at CAP connections
#      (Rampart max_connections; nginx worker_connections, which counts its listening and
#      upstream sockets too).
# Rampart's rampart_connections_refused_total is shown when its binary has that metric.
# The whole run is bounded by max_seconds (the script re-runs itself under timeout(1)); whatever it
# started is stopped on exit, Ctrl-C or timeout.
# Usage: bash bench/overload.sh [idle=10000] [loris=1000] [max_seconds=600] [cap=200]
#   RAMPART_BIN=path measures that binary without building.
set -euo pipefail
IDLE=${1:-10000}; LORIS=${2:-1000}; MAX=${3:-600}; CAP=${4:-200}
[ -n "${OVERLOAD_BENCH_BOUNDED:-}" ] || OVERLOAD_BENCH_BOUNDED=1 exec timeout -k 10 "$MAX" bash "$0" "$@"
cd "$(dirname "$0")/.."
source bench/lib.sh
need nginx wrk curl python3
command -v prlimit >/dev/null || { echo "prlimit (util-linux) is missing" >&2; exit 1; }
BIN=$(release_bin)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # the hard limit may be lower
NOFILE=$(ulimit -n)
HELD=$((IDLE + LORIS))
[ $((HELD + 1000)) -le "$NOFILE" ] || { echo "$HELD held connections need about $((HELD + 1000)) fds per process, the limit is $NOFILE" >&2; exit 1; }
OUT=$(mktemp -d /tmp/rampart-overload.XXXXXX)
UP=18690; NGX=18691; RMP=18692; MET=18693
FDLIM=256

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'echo "overload.sh: stopped (the ${MAX} s bound, or a signal); files in $OUT" >&2; exit 1' TERM INT

# --- configs ----------------------------------------------------------------------------------
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"
mkdir -p $OUT/nginx-drill $OUT/nginx-fd $OUT/nginx-cap
nginx_proxy_conf $OUT/nginx-drill $NGX $UP "worker_rlimit_nofile $NOFILE;" "$NOFILE" "keepalive_timeout 600s;"
# (a second error log at level warn shows nginx's "worker_connections are not enough, reusing connections")
nginx_proxy_conf $OUT/nginx-fd $NGX $UP "worker_rlimit_nofile $FDLIM; error_log $OUT/nginx-fd/warn.err warn;" 512 "keepalive_timeout 600s;"
nginx_proxy_conf $OUT/nginx-cap $NGX $UP "worker_rlimit_nofile $NOFILE; error_log $OUT/nginx-cap/warn.err warn;" "$CAP" "keepalive_timeout 600s;"
rampart_conf() { # FILE MAX_CONNECTIONS
  cat > "$1" <<JSON
{ "server": {"listen": "127.0.0.1:$RMP", "workers": 1, "max_connections": $2,
             "drain_delay": "0s", "drain_timeout_ms": 2000, "limits": {"keepalive_timeout_ms": 600000}},
  "admin": {"listen": null, "metrics_listen": "127.0.0.1:$MET"},
  "upstreams": {"app": {"url": "http://127.0.0.1:$UP"}},
  "headers": {"set": $SECURITY_HEADERS_JSON},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}}],
  "logging": {"access_log": false} }
JSON
  $BIN check --config "$1" >/dev/null
}
rampart_conf $OUT/rampart-drill.json $((HELD + 1000))
rampart_conf $OUT/rampart-fd.json $((HELD + 1000))
rampart_conf $OUT/rampart-cap.json $CAP

# --- helpers ----------------------------------------------------------------------------------
tree() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }             # a process and its children
rss_kib() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $s; }
fds() { local s=0 p; for p in "$@"; do s=$((s + $(ls /proc/$p/fd 2>/dev/null | wc -l))); done; echo $s; }
field() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) {print $(i + 1); exit}}' "$1"; }  # FILE KEY: the word after KEY
alive() { kill -0 "$1" 2>/dev/null && curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$2/" && echo yes || echo no; }

# start NAME PROXY PHASE [PREFIX...]: starts nginx or Rampart with PHASE's config behind PREFIX
# (taskset, prlimit), waits until it answers; sets PID.
start() {
  local name=$1 proxy=$2 phase=$3; shift 3
  if [ $proxy = nginx ]; then
    "$@" nginx -c $OUT/nginx-$phase/proxy.conf -p $OUT/nginx-$phase > $OUT/$name.log 2>&1 & PID=$!
  else
    "$@" $BIN serve --config $OUT/rampart-$phase.json > $OUT/$name.log 2>&1 & PID=$!
  fi
  pids+=($PID)
  wait_http http://127.0.0.1:$([ $proxy = nginx ] && echo $NGX || echo $RMP)/ 300 || { cat $OUT/$name.log >&2; return 1; }
}

# stop PID: TERM, then its exit status in STOPPED (0 or 143: stopped by this script; anything
# else: it crashed or failed before).
stop() {
  STOPPED=0
  kill $1 2>/dev/null || true
  wait $1 2>/dev/null || STOPPED=$?
}

# refused_metric: Rampart's refusal counters, when this binary has them ("-" otherwise).
refused_metric() {
  local m
  m=$(curl -s --max-time 3 http://127.0.0.1:$MET/metrics | awk '/^rampart_connections_refused_total/ {
        r = $1; sub(/.*reason="/, "", r); sub(/".*/, "", r); printf "%s%s=%s", sep, r, $2; sep = "," }')
  echo "${m:--}"
}

declare -A R   # R[proxy.figure] = value

# drill PROXY PORT
drill() {
  local p=$1 port=$2 procs b fb a fa
  echo "== $p: drill ($IDLE idle keep-alive + $LORIS slow-loris held, wrk -t1 -c20)"
  start $p-drill $p drill taskset -c 0
  procs=$(tree $PID)
  taskset -c 1 wrk -t1 -c20 -d5s --latency http://127.0.0.1:$port/ > $OUT/$p-base.wrk 2>&1
  read R[$p.base_rps] R[$p.base_p50] R[$p.base_p99] R[$p.base_non2xx] < <(wrk_figures $OUT/$p-base.wrk)
  sleep 1
  procs=$(tree $PID); b=$(rss_kib $procs); fb=$(fds $procs)
  taskset -c 1 python3 bench/overload_clients.py hold $port --idle $IDLE --loris $LORIS --hold $MAX \
    < /dev/null > $OUT/$p.hold 2> $OUT/$p.hold.err & local cl=$!; pids+=($cl)
  until grep -q '^ready' $OUT/$p.hold; do
    kill -0 $cl 2>/dev/null || { echo "$p: the client died" >&2; cat $OUT/$p.hold $OUT/$p.hold.err >&2; return 1; }
    sleep 0.2
  done
  cat $OUT/$p.hold.err >&2
  sleep 2
  procs=$(tree $PID); a=$(rss_kib $procs); fa=$(fds $procs)
  R[$p.idle_open]=$(awk '/^idle open/{print $3}' $OUT/$p.hold)
  R[$p.idle_open_s]=$(awk '/^idle open/{print $7}' $OUT/$p.hold)
  R[$p.loris_open]=$(awk '/^loris open/{print $3}' $OUT/$p.hold)
  R[$p.rss_before]=$b; R[$p.rss_held]=$a; R[$p.fds_before]=$fb; R[$p.fds_held]=$fa
  R[$p.kib_per_conn]=$(python3 -c "import sys; b, a, n = map(int, sys.argv[1:]); print(f'{(a - b) / max(n, 1):.2f}')" \
    $b $a $((${R[$p.idle_open]} + ${R[$p.loris_open]})))
  taskset -c 1 wrk -t1 -c20 -d10s --latency http://127.0.0.1:$port/ > $OUT/$p-load.wrk 2>&1
  read R[$p.load_rps] R[$p.load_p50] R[$p.load_p99] R[$p.load_non2xx] < <(wrk_figures $OUT/$p-load.wrk)
  R[$p.wrk_errors]=$(awk '/Socket errors/{sub(/.*Socket errors: /, ""); gsub(/ /, ""); print}' $OUT/$p-load.wrk)
  R[$p.rss_after_wrk]=$(rss_kib $(tree $PID))
  kill -TERM $cl; wait $cl 2>/dev/null || true
  R[$p.idle_dropped]=$(awk '/^idle held/{print $5}' $OUT/$p.hold)
  R[$p.loris_closed]=$(awk '/^loris closed_by_proxy/{print $3}' $OUT/$p.hold)
  R[$p.loris_answered]=$(awk '/^loris closed_by_proxy/{print $5}' $OUT/$p.hold)
  R[$p.loris_silent]=$(awk '/^loris closed_by_proxy/{print $7}' $OUT/$p.hold)
  R[$p.loris_life]=$(awk '/^loris closed_by_proxy/{print $9}' $OUT/$p.hold)
  R[$p.held_s]=$(awk '/^idle held/{print $7}' $OUT/$p.hold)
  R[$p.drill_alive]=$(alive $PID $port)
  stop $PID; R[$p.drill_exit]=$STOPPED
  printf '  nothing held: %s req/s, p50 %s ms, p99 %s ms\n' ${R[$p.base_rps]} ${R[$p.base_p50]} ${R[$p.base_p99]}
  printf '  held: %s idle (opened in %s s) + %s slow-loris; VmRSS %s -> %s KiB, fds %s -> %s: %s KiB per held connection\n' \
    ${R[$p.idle_open]} ${R[$p.idle_open_s]} ${R[$p.loris_open]} $b $a $fb $fa ${R[$p.kib_per_conn]}
  printf '  under load: %s req/s, p50 %s ms, p99 %s ms, non-2xx %s%s\n' ${R[$p.load_rps]} ${R[$p.load_p50]} ${R[$p.load_p99]} \
    ${R[$p.load_non2xx]} "${R[$p.wrk_errors]:+, wrk socket errors ${R[$p.wrk_errors]}}"
  printf '  in %s s held, slow-loris closed by the proxy: %s (answered %s, silent %s, median life %s s); idle dropped: %s; alive: %s; exit: %s\n' \
    ${R[$p.held_s]} ${R[$p.loris_closed]} ${R[$p.loris_answered]} ${R[$p.loris_silent]} ${R[$p.loris_life]} ${R[$p.idle_dropped]} \
    ${R[$p.drill_alive]} ${R[$p.drill_exit]}
  crashed $p-drill ${R[$p.drill_exit]}
}

# refusal PROXY PORT PHASE(fd|cap) [PREFIX...]
refusal() {
  local p=$1 port=$2 ph=$3 k; shift 3
  start $p-$ph $p $ph "$@"
  python3 bench/overload_clients.py exhaust $port --pids "$(tree $PID | tr ' ' ',')" \
    < /dev/null > $OUT/$p-$ph.exhaust 2> $OUT/$p-$ph.exhaust.err || { cat $OUT/$p-$ph.exhaust.err >&2; return 1; }
  k=$p.$ph
  R[$k.held]=$(field $OUT/$p-$ph.exhaust held)
  R[$k.stop]=$(field $OUT/$p-$ph.exhaust stop)
  R[$k.attempts]=$(field $OUT/$p-$ph.exhaust attempts)
  R[$k.answered]=$(field $OUT/$p-$ph.exhaust answered)
  R[$k.closed]=$(field $OUT/$p-$ph.exhaust closed)
  R[$k.reset]=$(field $OUT/$p-$ph.exhaust reset)
  R[$k.hung]=$(field $OUT/$p-$ph.exhaust hung)
  R[$k.held_served]=$(awk '/^held_check/{print $3 "/" $5 "(" $7 ")"}' $OUT/$p-$ph.exhaust)
  R[$k.held_open]=$(awk '/^held_open/{print $2 "/" $4}' $OUT/$p-$ph.exhaust)
  R[$k.cpu]=$(field $OUT/$p-$ph.exhaust cpu_pct)
  R[$k.recovered]=$(field $OUT/$p-$ph.exhaust recovered_s)
  R[$k.metric]=$([ $p = rampart ] && refused_metric || echo -)
  R[$k.alive]=$(alive $PID $port)
  stop $PID; R[$k.exit]=$STOPPED
  printf '  held %s (new ones stopped being served: %s); %s new connections in 10 s: answered %s, closed %s, reset %s, hung %s\n' \
    ${R[$k.held]} ${R[$k.stop]} ${R[$k.attempts]} ${R[$k.answered]} ${R[$k.closed]} ${R[$k.reset]} ${R[$k.hung]}
  printf '  held connections still served: %s; still open at the end: %s; CPU %s %% of a core; served again %s s after the release; alive: %s; exit: %s\n' \
    ${R[$k.held_served]} ${R[$k.held_open]} ${R[$k.cpu]} ${R[$k.recovered]} ${R[$k.alive]} ${R[$k.exit]}
  [ "${R[$k.metric]}" = - ] || echo "  rampart_connections_refused_total: ${R[$k.metric]}"
  if [ $p = nginx ]; then
    R[$k.log]="$(grep -c 'Too many open files' $OUT/nginx-$ph/warn.err || true) EMFILE, $(grep -c 'reusing connections' $OUT/nginx-$ph/warn.err || true) reusing"
    echo "  nginx's error log: ${R[$k.log]}"
  fi
  crashed $p-$ph ${R[$k.exit]}
}

# crashed NAME STATUS: shows the end of a proxy's log when it did not exit as TERM asks.
crashed() {
  case $2 in 0|143) ;; *) echo "  $1 exited with status $2; the end of its log:"; tail -20 $OUT/$1.log | sed 's/^/    /' ;; esac
}

echo "overload drill, $(date -u +%F), $(nproc) cores; Rampart: $BIN; files in $OUT"
taskset -c 1 nginx -c $OUT/upstream.conf -p $OUT > $OUT/upstream.log 2>&1 & pids+=($!)
wait_http http://127.0.0.1:$UP/
for p in nginx rampart; do
  port=$([ $p = nginx ] && echo $NGX || echo $RMP)
  drill $p $port
  echo "== $p: fd limit (prlimit --nofile=$FDLIM:$FDLIM)"
  refusal $p $port fd prlimit --nofile=$FDLIM:$FDLIM
  echo "== $p: connection cap ($([ $p = nginx ] && echo worker_connections || echo max_connections) $CAP)"
  refusal $p $port cap
done

# --- summary ------------------------------------------------------------------------------------
row() { # LABEL KEY [ratio]
  local n=${R[nginx.$2]:--} r=${R[rampart.$2]:--} x=""
  [ "${3:-}" = ratio ] && x=$(python3 -c "import sys
try: print(f'{float(sys.argv[2]) / float(sys.argv[1]):.2f}x')
except Exception: print('')" "$n" "$r")
  printf '%-52s %18s %18s %9s\n' "$1" "$n" "$r" "$x"
}
echo
echo "summary: $IDLE idle keep-alive + $LORIS slow-loris connections held; 1 worker each"
printf '%-52s %18s %18s %9s\n' figure nginx rampart r/n
row "req/s, nothing held (wrk -c20 5 s)" base_rps ratio
row "p99 ms, nothing held" base_p99 ratio
row "idle keep-alive connections opened" idle_open
row "  seconds to open them" idle_open_s ratio
row "slow-loris sockets open" loris_open
row "VmRSS KiB before" rss_before ratio
row "VmRSS KiB with all held" rss_held ratio
row "VmRSS KiB after wrk, all still held" rss_after_wrk ratio
row "KiB per held connection" kib_per_conn ratio
row "open fds before" fds_before
row "open fds with all held" fds_held ratio
row "req/s while held (wrk -c20 10 s)" load_rps ratio
row "p50 ms while held" load_p50 ratio
row "p99 ms while held (target < 10)" load_p99 ratio
row "non-2xx while held" load_non2xx
row "seconds all were held (to the end of wrk)" held_s
row "slow-loris closed by the proxy meanwhile" loris_closed
row "  answered (status:count)" loris_answered
row "  closed silently" loris_silent
row "  median life s" loris_life
row "idle connections dropped" idle_dropped
row "alive after the drill" drill_alive
for ph in fd cap; do
  [ $ph = fd ] && echo "-- descriptors: prlimit --nofile=$FDLIM:$FDLIM" || echo "-- connection cap $CAP (nginx worker_connections, Rampart max_connections)"
  row "connections held, each with a 200" $ph.held
  row "  filling stopped at (max_hold: never refused)" $ph.stop
  row "new connections in 10 s" $ph.attempts
  row "  answered (status:count)" $ph.answered
  row "  closed without an answer" $ph.closed
  row "  reset at connect" $ph.reset
  row "  hung 3 s" $ph.hung
  row "held ones still served, 5 in turn (outcomes)" $ph.held_served
  row "held ones the proxy had not closed at the end" $ph.held_open
  row "CPU % of one core during the 10 s" $ph.cpu
  row "seconds until served again after release" $ph.recovered
  row "alive afterwards" $ph.alive
  row "refused metric (Rampart)" $ph.metric
  row "nginx error log (warn)" $ph.log
done
row "exit status after the drill (0/143: stopped by TERM)" drill_exit
row "exit status after the fd phase" fd.exit
row "exit status after the cap phase" cap.exit
