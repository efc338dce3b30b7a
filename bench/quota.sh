#!/usr/bin/env bash
# Quota cost, in one run: the same Rampart (1 worker) in front of the same nginx upstream with
#   A: no quotas   B: a quota on the memory store   C: the same quota on the Redis store
# wrk sends each request as one of 10,000 users (X-User-Id from a trusted proxy), so every
# request is a real quota decision; the limit is high enough that all are admitted.
# Usage: bash bench/quota.sh [duration_s=10] [connections=50]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}; CONNS=${2:-50}
source bench/lib.sh
need nginx wrk redis-server
RAMPART=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-quota-bench.XXXXXX)
UP=18190; RP=18191; REDIS=18192

upstream_conf $OUT $UP ok
cat > $OUT/users.lua <<'LUA'
request = function()
  return wrk.format("GET", "/", {["X-User-Id"] = "u" .. math.random(1, 10000)})
end
LUA
config() { # store-json quotas-json
  cat <<JSON
{ "server": {"listen": "127.0.0.1:$RP", "workers": 1, "trusted_proxies": ["127.0.0.1/32"]},
  "admin": {"listen": null},
  "store": $1,
  "identity": {"trusted_header": "X-User-Id"},
  "upstreams": {"app": {"url": "http://127.0.0.1:$UP"}},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}, "quotas": $2}],
  "logging": {"access_log": false} }
JSON
}
config '{"kind": "memory", "dir": "'$OUT'/store"}' '[]' > $OUT/off.json
config '{"kind": "memory", "dir": "'$OUT'/store"}' '[{"limit": 1000000000, "per": "1h", "key": "user"}]' > $OUT/memory.json
config '{"kind": "redis", "url": "redis://127.0.0.1:'$REDIS'/0", "on_unavailable": "deny"}' '[{"limit": 1000000000, "per": "1h", "key": "user"}]' > $OUT/redis.json

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
taskset -c 1 nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
taskset -c 1 redis-server --port $REDIS --save '' --appendonly no --daemonize no > $OUT/redis.log & pids+=($!)
sleep 0.5

run() { # name
  taskset -c 0 $RAMPART serve --config $OUT/$1.json > $OUT/$1.log 2>&1 & local pid=$!
  for i in $(seq 1 100); do curl -sf -o /dev/null -H 'X-User-Id: warm' http://127.0.0.1:$RP/ && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c$CONNS -d${DUR}s --latency -s $OUT/users.lua http://127.0.0.1:$RP/ > $OUT/$1.txt 2>&1
  kill $pid; wait $pid 2>/dev/null || true
  python3 - "$OUT/$1.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    n, u = re.match(r'([\d.]+)(us|ms|s)', v).groups(); n = float(n)
    return n / 1000 if u == 'us' else n * 1000 if u == 's' else n
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
p99 = ms(re.search(r'\s99%\s+(\S+)', t).group(1))
errs = re.search(r'Non-2xx or 3xx responses: (\d+)', t)
print(f"{rps:.0f} {p99:.3f} {errs.group(1) if errs else 0}")
PY
}
printf '%-8s %10s %9s %7s\n' quotas req/s p99_ms non2xx
declare -A R
for t in off memory redis; do
  read rps p99 errs < <(run $t)
  R[$t]=$rps
  printf '%-8s %10s %9s %7s\n' $t $rps $p99 $errs
done
python3 -c "import sys; o,m,r=map(float,sys.argv[1:]); print(f'memory/off {m/o:.2f}x, redis/off {r/o:.2f}x')" ${R[off]} ${R[memory]} ${R[redis]}
