#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind, for nginx and Rampart in one
# run: unlike req/s, the count does not move with a noisy neighbour or a busy core, so it shows what
# a change to the hot path costs, and how far Rampart is from nginx doing the same work.
# Same setup as proxy.sh (nginx upstream with a 100-byte body, the five security headers, access
# log off, 1 worker; nginx with `master_process off` so callgrind runs the worker itself). Each
# proxy in turn (nginx, then Rampart) runs under callgrind: counters are zeroed after a 3 s wrk
# warm-up, then wrk -c10 runs for DUR seconds and the count is divided by the requests wrk completed.
# Usage: bash bench/instructions.sh [duration_s=10] [upstream_host=127.0.0.1]
#   (upstream_host is Rampart's: localhost measures the host-name path, nginx always uses 127.0.0.1)
#   RAMPART_BIN=path/to/rampart measures that binary without building.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}; UPHOST=${2:-127.0.0.1}
source bench/lib.sh
need nginx wrk valgrind
BIN=$(release_bin)
OUT=$(mktemp -d /tmp/rampart-instr.XXXXXX)
UP=18390; RMP=18391; ADM=18392; NGX=18393
upstream_conf $OUT $UP "$(printf 'x%.0s' $(seq 1 100))"
nginx_proxy_conf $OUT $NGX $UP "master_process off;"
proxy_gateway_json $RMP '"127.0.0.1:'$ADM'"' http://$UPHOST:$UP > $OUT/gateway.json
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT $p 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -c $OUT/upstream.conf -p $OUT & pids+=($!)
wait_http http://127.0.0.1:$UP/

callgrind_count $OUT nginx $NGX $DUR nginx -c $OUT/proxy.conf -p $OUT
NN=$CG_REQUESTS; NIR=$CG_INSTRUCTIONS; NPROF=$CG_PROFILE
callgrind_count $OUT rampart $RMP $DUR $BIN serve --config $OUT/gateway.json
RN=$CG_REQUESTS; RIR=$CG_INSTRUCTIONS; RPROF=$CG_PROFILE
echo "nginx:   $NN requests under callgrind: $NIR instructions, $((NIR / NN)) per request"
echo "rampart: $RN requests under callgrind: $RIR instructions, $((RIR / RN)) per request (upstream http://$UPHOST:$UP)"
echo "nginx: $((NIR / NN)) per request; rampart: $((RIR / RN)) per request; rampart/nginx: $(python3 -c "import sys; print(f'{int(sys.argv[2]) / int(sys.argv[1]):.2f}')" $((NIR / NN)) $((RIR / RN))) x"
echo "profiles: callgrind_annotate --inclusive=yes $NPROF | less"
echo "          callgrind_annotate --inclusive=yes $RPROF | less"
