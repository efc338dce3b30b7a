#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: unlike req/s, the count does
# not move with a noisy neighbour or a busy core, so it shows what a change to the hot path costs.
# Same setup as proxy.sh (nginx upstream with a 100-byte body, the five security headers, access
# log off, 1 worker). Counters are zeroed after a warm-up, then wrk -c10 runs for DUR seconds.
# Usage: bash bench/instructions.sh [duration_s=10] [upstream_host=127.0.0.1]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}; UPHOST=${2:-127.0.0.1}
source bench/lib.sh
need nginx wrk valgrind
BIN=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-instr.XXXXXX)
UP=18390; RMP=18391; ADM=18392
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"
proxy_gateway_json $RMP '"127.0.0.1:'$ADM'"' http://$UPHOST:$UP > $OUT/gateway.json
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.out $BIN serve --config $OUT/gateway.json > $OUT/rampart.log 2>&1 &
VG=$!; pids+=($VG)
for i in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:$RMP/ && break; sleep 1; done
wrk -t1 -c10 -d3s http://127.0.0.1:$RMP/ >/dev/null        # warm-up: pools, caches, first allocations
sleep 1; callgrind_control -z $VG >/dev/null
N=$(wrk -t1 -c10 -d${DUR}s http://127.0.0.1:$RMP/ | awk '/requests in/{print $1}')
sleep 1; callgrind_control -d $VG >/dev/null; sleep 1
F=$(ls -t $OUT/callgrind.out.* | head -1)
IR=$(callgrind_annotate $F 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "upstream http://$UPHOST:$UP, $N requests under callgrind: $IR instructions, $((IR / N)) per request"
echo "profile: callgrind_annotate --inclusive=yes $F | less"
