#!/usr/bin/env bash
# Runs the fuzz targets Fuzz/build.sh made, one after the other, one job each.
#   Fuzz/run.sh smoke [TARGET...]         seeds plus a few thousand mutations each (make fuzz-build)
#   Fuzz/run.sh long SECONDS [TARGET...]  SECONDS each, new corpus entries kept (make fuzz)
# Seeds come from Fuzz/seeds/<target> (read only); a long run adds what it finds to
# .build/fuzz/seeds/<target> (git-ignored) and starts from it next time, and writes its log to
# .build/fuzz/logs/<target>.log. A crash or violated invariant ends that target's run with the
# input saved as .build/fuzz/crash-* (replay: .build/fuzz/<target> .build/fuzz/crash-...); the
# others still run, and the script fails at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build/fuzz
ALL=(request-head response-head chunked sse websocket h2-request h2-connection traceparent json resp jwt json-schema truncation html-sanitizer fenced-json)
mode=${1:?usage: Fuzz/run.sh smoke|long SECONDS [TARGET...]}
shift
seconds=0
if [ "$mode" = long ]; then seconds=${1:?seconds}; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

# Per-target options: input size and dictionary; smoke runs, each well under 2 s (the request
# and response targets feed every input three ways, byte by byte included, so they run fewer).
options() {
    case $1 in
        request-head|response-head|chunked) echo "-max_len=2048 -dict=Fuzz/dicts/http.dict" ;;
        json|json-schema|truncation|jwt) echo "-max_len=4096 -dict=Fuzz/dicts/json.dict" ;;
        *) echo "-max_len=4096" ;;
    esac
}
smoke_runs() {
    case $1 in
        request-head|response-head) echo 1500 ;;
        *) echo 3000 ;;
    esac
}
seeds() { [ -d "Fuzz/seeds/$1" ] && echo "Fuzz/seeds/$1" || echo "$OUT/generated/$1"; }

export SWIFT_BACKTRACE=enable=no
failed=()
mkdir -p "$OUT/logs"
for t in "${targets[@]}"; do
    [ -x "$OUT/$t" ] || { echo "no $OUT/$t: run Fuzz/build.sh"; exit 1; }
    if [ "$mode" = smoke ]; then
        rm -rf "$OUT/smoke/$t" && mkdir -p "$OUT/smoke/$t"
        # New inputs go to the first folder (thrown away), so the smoke never grows.
        if ! "$OUT/$t" -runs="$(smoke_runs "$t")" -seed=1 -timeout=20 $(options "$t") -artifact_prefix="$OUT/" \
            "$OUT/smoke/$t" "$(seeds "$t")" > "$OUT/logs/$t.smoke.log" 2>&1; then
            tail -40 "$OUT/logs/$t.smoke.log"
            echo "fuzz smoke FAILED: $t (log: $OUT/logs/$t.smoke.log)"
            failed+=("$t")
            continue
        fi
        printf '%-15s %s\n' "$t" "$(grep -E '^#[0-9]+' "$OUT/logs/$t.smoke.log" | tail -1)"
    else
        mkdir -p "$OUT/seeds/$t"
        status=0
        "$OUT/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 $(options "$t") -artifact_prefix="$OUT/" \
            "$OUT/seeds/$t" "$(seeds "$t")" > "$OUT/logs/$t.log" 2>&1 || status=$?
        runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$OUT/logs/$t.log" | grep -o '[0-9]*$' || true)
        last=$(grep -aE '^#[0-9]+' "$OUT/logs/$t.log" | tail -1 || true)
        cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last"); ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
        printf '%-15s %4ss  executions %-10s cov %-6s ft %-6s corpus %s  %s\n' "$t" "$seconds" "${runs:-?}" "${cov:-?}" \
            "${ft:-?}" "$(ls "$OUT/seeds/$t" | wc -l)" "$([ $status = 0 ] && echo "0 crashes" || echo "FAILED (status $status)")"
        if [ $status != 0 ]; then
            grep -aE 'invariant violated|ERROR: |Fatal error|deadly signal|timeout|Test unit written' "$OUT/logs/$t.log" | cut -c1-400 | head -6
            echo "log: $OUT/logs/$t.log"
            failed+=("$t")
        fi
    fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "fuzz $mode FAILED: ${failed[*]}"; exit 1; fi
