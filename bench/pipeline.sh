#!/usr/bin/env bash
# What Rampart's policies cost, one step at a time: the same Rampart binary (1 worker) in front of
# the same nginx upstream (100-byte body), with each configuration adding one thing to the last:
#   a  plain proxy: no response headers added, access log off
#   b  + the five security headers (those proxy.sh's nginx adds)
#   c  + the access log, on (stdout to a file in the temp dir)
#   d  + JWT identity: HS256, the token verified on every request
#   e  + a request quota on the memory store, keyed per user, too large to ever refuse (1e9 per 1m)
# wrk sends the same request to every configuration, with a valid HS256 token (made here with
# python3's hmac) in Authorization, so only what Rampart does with it differs. Before measuring,
# each configuration is checked once (headers there or not, log lines written, a bad token refused,
# RateLimit headers on the answer).
# wrk mode (default): Rampart pinned to CPU 0, wrk -t1 -c50 and the upstream on CPU 1, like
# proxy.sh; the configurations alternate within each round; prints the median req/s of each and
# each step's cost in % of the plain proxy's req/s.
# callgrind mode: each configuration once under callgrind (bench/lib.sh callgrind_count: 3 s
# warm-up, counters zeroed, wrk -c10 for DUR s); prints instructions per request and each step's
# cost in instructions and in % of the plain proxy's. Unlike req/s, these repeat to within ~1 %.
# Usage: bash bench/pipeline.sh [duration_s=8] [rounds=2] [mode=wrk|callgrind]
#   (RAMPART_BIN=path measures that binary without building)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-8}; ROUNDS=${2:-2}; MODE=${3:-wrk}
[ "$MODE" = wrk ] || [ "$MODE" = callgrind ] || { echo "mode is wrk or callgrind, not $MODE" >&2; exit 1; }
source bench/lib.sh
need nginx wrk curl
[ "$MODE" = wrk ] || need valgrind
RAMPART=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-pipeline.XXXXXX)
UP=18690; RP=18691
CONFIGS=(a b c d e)
declare -A LABEL=([a]="plain proxy" [b]="+ security headers" [c]="+ access log" [d]="+ JWT identity (HS256)"
                  [e]="+ quota (memory, per user)")

export JWT_SECRET=rampart-bench-secret-0123456789abcdef
jwt() { # SECRET : an HS256 token for user bench-user, valid for a day
  python3 - "$1" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
now = int(time.time())
claims = b64(json.dumps({"sub": "bench-user", "iat": now, "exp": now + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), head + b"." + claims, hashlib.sha256).digest())
print((head + b"." + claims + b"." + sig).decode())
PY
}
TOKEN=$(jwt "$JWT_SECRET"); BAD_TOKEN=$(jwt "not-$JWT_SECRET")    # BAD_TOKEN: signed with another secret
WRK_EXTRA=(-H "Authorization: Bearer $TOKEN")

gateway() { # CONFIG STORE_DIR : the gateway.json of configuration a..e
  local c=$1 headers='' identity='' quotas='[]' log=false
  [[ $c > a ]] && headers='"headers": {"set": '"$SECURITY_HEADERS_JSON"'},'
  [[ $c > b ]] && log=true
  [[ $c > c ]] && identity='"identity": {"jwt": {"algorithms": ["HS256"], "hmac_secret_env": "JWT_SECRET"}},'
  [[ $c > d ]] && quotas='[{"limit": 1000000000, "per": "1m", "key": "user"}]'
  cat <<JSON
{ "server": {"listen": "127.0.0.1:$RP", "workers": 1, "drain_delay": "0s"}, "admin": {"listen": null},
  "store": {"kind": "memory", "dir": "$2"},
  $identity
  "upstreams": {"app": {"url": "http://127.0.0.1:$UP"}},
  $headers
  "routes": [{"name": "default", "match": {"path_prefix": "/"}, "quotas": $quotas}],
  "logging": {"access_log": $log} }
JSON
}

pids=()
cleanup() { for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"
taskset -c 1 nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
wait_http http://127.0.0.1:$UP/

start() { # CONFIG NAME : starts Rampart (pinned to CPU 0) with configuration CONFIG; sets RPID
  gateway $1 $OUT/store-$2 > $OUT/$2.json
  taskset -c 0 $RAMPART serve --config $OUT/$2.json > $OUT/$2.log 2>&1 & RPID=$!; pids+=($RPID)
  wait_http http://127.0.0.1:$RP/ || { cat $OUT/$2.log >&2; exit 1; }
}
stop() { kill $RPID; wait $RPID 2>/dev/null || true; }

# Each configuration does what it says, and answers the benchmark's request with 200.
has() { grep -qi "^$1" <<< "$head"; }                   # a header of the last check's answer
fail() { echo "config $c (${LABEL[$c]}): $1" >&2; exit 1; }
for c in "${CONFIGS[@]}"; do
  start $c check-$c
  head=$(curl -sf -D - -o /dev/null -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$RP/) || fail "the token's request failed"
  if [[ $c > a ]]; then has 'x-frame-options: DENY' || fail "no security headers"; else ! has 'x-frame-options' || fail "security headers"; fi
  if [[ $c > d ]]; then has 'x-ratelimit-remaining' || fail "no quota headers"; else ! has 'x-ratelimit' || fail "quota headers"; fi
  bad=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BAD_TOKEN" http://127.0.0.1:$RP/)
  if [[ $c > c ]]; then [ "$bad" = 401 ] || fail "a bad token got $bad"; else [ "$bad" = 200 ] || fail "a bad token got $bad"; fi
  stop
  lines=$(grep -c '"type":"access"' $OUT/check-$c.log || true)
  if [[ $c > b ]]; then [ "$lines" -ge 2 ] || fail "no access log"; else [ "$lines" = 0 ] || fail "access log on"; fi
done

summary() { # UNIT VALUE_a .. VALUE_e : each step's cost and the total, in % of a's value
  python3 - "$@" <<'PY'
import sys
unit, vals = sys.argv[1], [float(v) for v in sys.argv[2:]]
labels = ["a plain proxy", "b + security headers", "c + access log", "d + JWT identity (HS256)", "e + quota (memory, per user)"]
inst = unit == "instr/req"
print(f"{'configuration':<30} {unit:>10} {'step cost':>10} {'vs plain':>9}")
for i, (l, v) in enumerate(zip(labels, vals)):
    if i == 0:
        print(f"{l:<30} {v:>10.0f} {'':>10} {'':>9}")
        continue
    step = (v - vals[i - 1]) if inst else (vals[i - 1] - v)      # more instructions, or fewer req/s
    total = (v - vals[0]) if inst else (vals[0] - v)
    print(f"{l:<30} {v:>10.0f} {100 * step / vals[0]:>9.1f}% {100 * total / vals[0]:>8.1f}%")
change = 100 * (vals[-1] - vals[0]) / vals[0]   # signed: more instructions, or more/fewer req/s
print(f"\nfull pipeline (e) vs plain proxy (a): {change:+.1f}% "
      f"({'instructions per request' if inst else 'req/s'}), e/a {vals[-1] / vals[0]:.2f}x")
PY
}

if [ "$MODE" = callgrind ]; then
  echo "instructions per request under callgrind (wrk -t1 -c10 -d${DUR}s after a 3 s warm-up), each configuration once"
  IR=()
  for c in "${CONFIGS[@]}"; do
    gateway $c $OUT/store-cg-$c > $OUT/cg-$c.json
    callgrind_count $OUT cg-$c $RP $DUR $RAMPART serve --config $OUT/cg-$c.json
    IR+=($((CG_INSTRUCTIONS / CG_REQUESTS)))
    echo "$c ${LABEL[$c]}: $CG_REQUESTS requests, $((CG_INSTRUCTIONS / CG_REQUESTS)) per request ($CG_PROFILE)"
  done
  echo; summary instr/req "${IR[@]}"
  exit 0
fi

run() { # NAME -> "rps p50_ms p99_ms non2xx"
  taskset -c 1 wrk -t1 -c50 -d${DUR}s --latency "${WRK_EXTRA[@]}" http://127.0.0.1:$RP/ > $OUT/$1.txt 2>&1
  wrk_figures "$OUT/$1.txt"
}
echo "wrk -t1 -c50 -d${DUR}s, $ROUNDS alternating rounds; Rampart (1 worker) pinned to CPU 0, wrk+upstream on CPU 1"
printf '%-4s %-30s %-6s %10s %9s %9s %6s\n' cfg configuration round req/s p50_ms p99_ms non2xx
declare -A RPS
for r in $(seq 1 $ROUNDS); do
  for c in "${CONFIGS[@]}"; do
    start $c $c-$r
    read rps p50 p99 errs < <(run $c-$r)
    stop
    [[ $c > b ]] && : > $OUT/$c-$r.log            # the access log: ~100 MB a run, not kept
    printf '%-4s %-30s %-6s %10s %9s %9s %6s\n' $c "${LABEL[$c]}" $r $rps $p50 $p99 $errs
    RPS[$c]="${RPS[$c]:-} $rps"
  done
done
MED=()
for c in "${CONFIGS[@]}"; do MED+=($(python3 -c "import sys, statistics; print(statistics.median(map(float, sys.argv[1:])))" ${RPS[$c]})); done
echo; echo "median req/s over $ROUNDS rounds; cost = req/s lost, in % of the plain proxy's req/s"
summary req/s "${MED[@]}"
