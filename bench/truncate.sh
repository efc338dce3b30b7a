#!/usr/bin/env bash
# Truncation speed (issue 6): one 1 MB, 2,000-message Anthropic body truncated to an 8,000-token
# budget, 100 times, in release mode; prints the time per call (target: under 5 ms).
# Runs the opt-in TruncationBenchmark test (skipped unless RAMPART_BENCH=1) rather than an extra
# executable target. -enable-testing keeps @testable imports working in an optimised build.
# Usage: bash bench/truncate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RAMPART_BENCH=1 swift test -c release -Xswiftc -enable-testing --scratch-path .build-bench-truncate \
  --filter TruncationBenchmark 2>&1 | grep -E '^truncate:|✘|error:' || { echo "benchmark failed" >&2; exit 1; }
