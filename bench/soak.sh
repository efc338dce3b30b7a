#!/usr/bin/env bash
# Soak: Rampart under mixed traffic for a long run, with config reloads and Redis outages, and its
# memory (VmRSS) and open file descriptors sampled throughout. A leak shows as growth between the
# end of warm-up and the end of the run; the target is flat within 5 %.
#   peers:   redis-server (the store), the demo app (pages, chat, SSE chapters, the save endpoint)
#   rampart: the shipped gateway.json's routes, 2 workers, the Redis store, quotas and budgets
#            raised so most traffic is admitted (the auth route's per-IP quota still sends 429s)
#   traffic: bench/soak_traffic.py at RATE req/s: pages, chat histories that get truncated, SSE
#            chapters read to the end (their save_status counted), streams abandoned after the
#            first event, 4 KiB POSTs, login 429s
#   faults:  SIGHUP (reload) every 10 s; Redis stopped for 10 s every 5 minutes
# Every 60 s prints: elapsed, RSS KiB, fds, requests so far. At the end compares the median of five
# samples right after warm-up (the first sixth of the run, at least 5 minutes for a full run) with
# the median of the last five, for RSS and fds, and prints the traffic totals; exits 1 when
# either is not flat within 5 %.
# Usage: bash bench/soak.sh [seconds=3600] [rate=120]
#   RAMPART_BIN=path soaks that binary without building.
set -euo pipefail
DUR=${1:-3600}; RATE=${2:-120}
[ -n "${SOAK_BOUNDED:-}" ] || SOAK_BOUNDED=1 exec timeout -k 10 $((DUR + 300)) bash "$0" "$@"
cd "$(dirname "$0")/.."
source bench/lib.sh
need redis-server curl python3
BIN=$(release_bin)
DEMO_BIN=$(dirname "$BIN")/rampart-demo-app
[ -x "$DEMO_BIN" ] || flock /tmp/rampart-build.lock swift build -c release --product rampart-demo-app >/dev/null
OUT=$(mktemp -d /tmp/rampart-soak.XXXXXX)
REDIS=18790; DEMO=18791; RMP=18792; ADM=18793
SAMPLE=60; WARM=$(( DUR / 6 ))

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM $p 2>/dev/null || true; done
  [ -n "${REDIS_PID:-}" ] && kill -TERM $REDIS_PID 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

start_redis() {
  redis-server --port $REDIS --bind 127.0.0.1 --save "" --appendonly no --daemonize no > $OUT/redis.log 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 100); do redis-cli -p $REDIS ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis did not start" >&2; exit 1
}
start_redis
"$DEMO_BIN" --port $DEMO > $OUT/demo.log 2>&1 & pids+=($!)
wait_http http://127.0.0.1:$DEMO/healthz

python3 - "$OUT/gateway.json" $RMP $ADM $DEMO $REDIS "$OUT/state" <<'PY'
import json, sys
path, rmp, adm, demo, redis, state = sys.argv[1:]
c = json.load(open("gateway.json"))
c["server"].update({"listen": f"127.0.0.1:{rmp}", "workers": 2, "drain_delay": "0s"})
c["admin"] = {"listen": f"127.0.0.1:{adm}", "token_env": "SOAK_ADMIN_TOKEN"}
c["store"] = {"kind": "redis", "url": f"redis://127.0.0.1:{redis}/0", "dir": state, "on_unavailable": "allow"}
c["upstreams"]["app"]["url"] = f"http://127.0.0.1:{demo}"
for r in c["routes"]:
    if r["name"] != "auth":
        for q in r.get("quotas", []):
            q["limit"] = 100000
c["usage"]["budgets"] = [{"per": "1d", "usd": 100000.0, "key": "user"}]
c["logging"]["access_log"] = False
json.dump(c, open(path, "w"), indent=1)
PY
SOAK_ADMIN_TOKEN=soak "$BIN" serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 & RPID=$!; pids+=($RPID)
wait_http http://127.0.0.1:$RMP/_rampart/healthz

python3 bench/soak_traffic.py $RMP --rate $RATE --seconds $DUR > $OUT/traffic.log 2>&1 & TPID=$!; pids+=($TPID)

rss() { awk '/VmRSS/{print $2}' /proc/$RPID/status; }
fds() { ls /proc/$RPID/fd | wc -l; }
echo "soak: ${DUR}s at ${RATE} req/s, warm-up ${WARM}s; reload every 10 s, Redis down 10 s every 300 s; logs in $OUT"
printf "%8s %10s %6s %10s\n" elapsed rss_kib fds requests
start=$(date +%s); next_sample=0; next_blip=300; samples=()
while kill -0 $TPID 2>/dev/null; do
  sleep 10
  kill -0 $RPID 2>/dev/null || { echo "RAMPART DIED (see $OUT/rampart.log)"; exit 1; }
  kill -HUP $RPID
  t=$(( $(date +%s) - start ))
  if [ $t -ge $next_blip ]; then
    redis-cli -p $REDIS shutdown nosave >/dev/null 2>&1 || true; wait $REDIS_PID 2>/dev/null || true
    sleep 10; start_redis; next_blip=$(( next_blip + 300 ))
  fi
  # A sample is taken only while the traffic runs: one taken after it stopped would count its
  # closed connections as a drop in descriptors.
  if [ $t -ge $next_sample ] && kill -0 $TPID 2>/dev/null; then
    n=$(tail -1 $OUT/traffic.log | python3 -c 'import json,sys; l=sys.stdin.read().strip(); print(sum(json.loads(l)["kinds"].values()) if l.startswith("{") else 0)')
    r=$(rss); f=$(fds); samples+=("$t $r $f")
    printf "%8s %10s %6s %10s\n" $t $r $f $n
    next_sample=$(( next_sample + SAMPLE ))
  fi
done
kill -0 $RPID 2>/dev/null || { echo "RAMPART DIED (see $OUT/rampart.log)"; exit 1; }
echo "traffic totals: $(tail -1 $OUT/traffic.log)"
printf "%s\n" "${samples[@]}" | python3 -c '
import statistics, sys
warm = int(sys.argv[1])
rows = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
after = [r for r in rows if r[0] >= warm][:5]
last = rows[-5:]
if len(after) < 1 or len(last) < 1:
    sys.exit("too few samples for a verdict")
flat = True
for name, i in (("rss_kib", 1), ("fds", 2)):
    a, b = statistics.median(r[i] for r in after), statistics.median(r[i] for r in last)
    change = (b - a) / a * 100 if a else 0
    verdict = "flat" if abs(change) <= 5 else "NOT flat"
    flat = flat and verdict == "flat"
    print(f"{name}: after warm-up {a:g}, at the end {b:g}, change {change:+.1f} % ({verdict} within 5 %)")
sys.exit(0 if flat else 1)   # a soak that is not flat fails, so a script can gate on it
' $WARM
