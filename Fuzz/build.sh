#!/usr/bin/env bash
# Builds the libFuzzer targets (libFuzzer ships with the Swift toolchain) into .build/fuzz/:
#   html-sanitizer  HTMLSanitizer + HTMLAllowList + HTMLSafetyCheck, linked with libxml2
#   fenced-json     FencedJSON (the extractor OutputCheck uses)
# Each compiles the needed source files directly with swiftc -sanitize=fuzzer,address.
# Seeds: .build/fuzz/seeds/sanitizer gets every payload of Tests/Fixtures/xss-corpus.jsonl and the
# formatted HTML of the unit tests; .build/fuzz/seeds/fenced gets Fuzz/seeds/fenced. libFuzzer adds
# what it finds to those copies. Run one (make fuzz runs both for $FUZZ_SECONDS, default 60):
#   .build/fuzz/html-sanitizer -max_total_time=60 -max_len=4096 .build/fuzz/seeds/sanitizer
#   .build/fuzz/fenced-json -max_total_time=60 .build/fuzz/seeds/fenced
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build/fuzz
mkdir -p "$OUT"
SS=Sources/RampartProxy/Policies/StreamSave
mkdir -p "$OUT/seeds/sanitizer" "$OUT/seeds/fenced"
cp Fuzz/seeds/fenced/* "$OUT/seeds/fenced/"
python3 - "$OUT/seeds/sanitizer" <<'PY'
import json, re, sys
lines = [l for l in open("Tests/Fixtures/xss-corpus.jsonl", encoding="utf-8") if not l.startswith("#")]
seeds = [json.loads(l)["payload"] for l in lines]
tests = open("Tests/RampartTests/HTMLSanitizerTests.swift", encoding="utf-8").read()
seeds += [json.loads(m) for m in re.findall(r'^\s*("<[^\n]*>"),$', tests, re.M)]
for i, s in enumerate(seeds):
    open(f"{sys.argv[1]}/seed-{i:04}.html", "w", encoding="utf-8").write(s)
PY
FLAGS=(-sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g)
swiftc "${FLAGS[@]}" -module-name HTMLSanitizerFuzz \
    -Xcc -fmodule-map-file=Sources/CLibXML2/module.modulemap $(pkg-config --cflags-only-I libxml-2.0 | sed 's/-I/-Xcc -I/g') \
    Fuzz/HTMLSanitizer/main.swift $SS/HTMLSanitizer.swift $SS/HTMLAllowList.swift $SS/HTMLSafetyCheck.swift \
    $(pkg-config --libs libxml-2.0) -o "$OUT/html-sanitizer" 2>&1 | { grep -v "Cannot export local symbol" || true; }
swiftc "${FLAGS[@]}" -module-name FencedJSONFuzz Fuzz/FencedJSON/main.swift $SS/FencedJSON.swift -o "$OUT/fenced-json" \
    2>&1 | { grep -v "Cannot export local symbol" || true; }
echo "built $OUT/html-sanitizer $OUT/fenced-json"
