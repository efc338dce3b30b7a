#!/usr/bin/env bash
# Builds the libFuzzer targets (libFuzzer ships with the Swift toolchain) into .build/fuzz/, each
# with one swiftc -sanitize=fuzzer,address -O -wmo, no SwiftPM (about 45 s for all from scratch).
# Line tables only: enough for stack traces, and full -g would write each target's module into
# the current folder. Each main.swift says what its target checks and why.
#   request-head    HTTPRequestParser + HTTP1ServerMachine (+ the head forwarded upstream)
#   response-head   HTTPResponseParser + HTTP1ClientMachine (+ HTTPResponseHead.serialize)
#   chunked         ChunkedDecoder + ChunkedEncoder
#   sse             SSEParser + SSEEncoder
#   websocket       WebSocketReader + WebSocketFrameParser (one direction of a WebSocket relay)
#   h2-request      HTTP2RequestMapping (the HTTP/2 header list as the HTTP/1.1 request forwarded)
#   h2-connection   HTTP2Connection on a socket pair and a real loop (nghttp2, callbacks, streams, limits)
#   traceparent     TraceParent (W3C trace context of an incoming request)
#   json            JSONValue.parse / JSONParser + JSONValue.write / JSONText.quote
#   resp            RESPDecoder + RESPEncoder
#   jwt             JWTVerifier (compact form, JOSE header, claims, keys) + the Bearer/cookie reader
#   json-schema     RequestValidator (SchemaNode, formats, trim) on any schema and body
#   truncation      ChatTruncator (scanner, plan, splice)
#   html-sanitizer  HTMLSanitizer + HTMLAllowList + HTMLSafetyCheck, linked with libxml2
#   fenced-json     FencedJSON (the extractor OutputCheck uses)
# Sources/RampartHTTP is compiled once, as a static library with its module, and linked into the
# targets that need it. The RampartProxy files compiled into jwt, json-schema and truncation import
# RampartLoop and RampartTransport by habit and use nothing of them: empty modules of those names
# (importing Foundation, as the real ones do) stand in; jwt compiles RampartLoop's Lock.swift in
# itself for the verified-token cache. A target is rebuilt only when one of its
# sources (or this script) is newer. Fuzz/run.sh runs them (smoke or long); seeds: Fuzz/seeds/.
# Fuzz/build.sh NAME... builds only those targets.
set -euo pipefail
ONLY=" $* "
cd "$(dirname "$0")/.."
OUT=.build/fuzz
MOD=$OUT/modules
P=Sources/RampartProxy
SS=$P/Policies/StreamSave
mkdir -p "$MOD" "$OUT/generated/html-sanitizer"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -wmo -gline-tables-only -package-name Rampart)

# swiftc's linker repeats a harmless warning per symbol; keep the rest (pipefail keeps the status).
quiet() { "$@" 2>&1 | { grep -v "Cannot export local symbol" || true; }; }
# Whether $1 is missing or older than any of the other paths (files or folders) or this script.
stale() { local out=$1; shift; [ ! -e "$out" ] || [ -n "$(find "$@" Fuzz/build.sh -newer "$out" -print -quit)" ]; }

if stale "$MOD/libRampartHTTP.a" Sources/RampartHTTP; then
    echo "building $MOD/libRampartHTTP.a"
    rm -f "$MOD/libRampartHTTP.a"   # the archiver adds to an existing archive
    quiet swiftc "${FLAGS[@]}" -module-name RampartHTTP -emit-module -emit-module-path "$MOD/RampartHTTP.swiftmodule" \
        -emit-library -static Sources/RampartHTTP/*.swift -o "$MOD/libRampartHTTP.a"
fi
for stub in RampartLoop RampartTransport; do
    if stale "$MOD/$stub.swiftmodule"; then
        printf 'import Foundation\n' > "$MOD/stub.swift"
        swiftc -parse-as-library -swift-version 6 -package-name Rampart -module-name "$stub" -emit-module \
            -emit-module-path "$MOD/$stub.swiftmodule" "$MOD/stub.swift"
    fi
done

# target NAME MODULE SOURCES... [-- LINK AND CC FLAGS...]
target() {
    local name=$1 module=$2 sources=() extra=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sources+=("$1"); shift; done
    [ $# -gt 0 ] && shift && extra=("$@")
    [ "$ONLY" = "  " ] || [[ "$ONLY" == *" $name "* ]] || return 0
    if stale "$OUT/$name" "${sources[@]}" "$MOD/libRampartHTTP.a"; then
        echo "building $OUT/$name"
        quiet swiftc "${FLAGS[@]}" -module-name "$module" -I "$MOD" "${sources[@]}" "${extra[@]}" -o "$OUT/$name"
    fi
}
LIB=(-L "$MOD" -lRampartHTTP)
F=Fuzz
target request-head RequestHeadFuzz $F/RequestHead/main.swift $F/Support.swift $F/Forwarding.swift -- "${LIB[@]}"
target response-head ResponseHeadFuzz $F/ResponseHead/main.swift $F/Support.swift $F/Forwarding.swift -- "${LIB[@]}"
target chunked ChunkedFuzz $F/Chunked/main.swift $F/Support.swift -- "${LIB[@]}"
target sse SSEFuzz $F/SSE/main.swift $F/Support.swift -- "${LIB[@]}"
target websocket WebSocketFuzz $F/WebSocket/main.swift $F/Support.swift -- "${LIB[@]}"
target h2-request H2RequestFuzz $F/H2Request/main.swift $F/Support.swift -- "${LIB[@]}"
target traceparent TraceParentFuzz $F/TraceParent/main.swift $F/Support.swift -- "${LIB[@]}"
target json JSONFuzz $F/JSON/main.swift $F/Support.swift -- "${LIB[@]}"
target resp RESPFuzz $F/RESP/main.swift $F/Support.swift -- "${LIB[@]}"
target jwt JWTFuzz $F/JWT/main.swift $F/Support.swift $P/Policies/Identity/*.swift $P/Config/PolicyConfig.swift \
    Sources/RampartLoop/Lock.swift \
    -- -Xcc -fmodule-map-file=Sources/COpenSSL/module.modulemap "${LIB[@]}" -lssl -lcrypto
target json-schema JSONSchemaFuzz $F/JSONSchema/main.swift $F/Support.swift $P/Policies/Validation/*.swift \
    $P/Config/PolicyConfig.swift -- "${LIB[@]}"
target truncation TruncationFuzz $F/Truncation/main.swift $F/Support.swift $P/Policies/Truncation/*.swift \
    $P/Config/PolicyConfig.swift -- "${LIB[@]}"
target html-sanitizer HTMLSanitizerFuzz $F/HTMLSanitizer/main.swift $SS/HTMLSanitizer.swift $SS/HTMLAllowList.swift \
    $SS/HTMLSafetyCheck.swift -- -Xcc -fmodule-map-file=Sources/CLibXML2/module.modulemap \
    $(pkg-config --cflags-only-I libxml-2.0 | sed 's/-I/-Xcc -I/g') $(pkg-config --libs libxml-2.0)
target fenced-json FencedJSONFuzz $F/FencedJSON/main.swift $SS/FencedJSON.swift

# h2-connection needs the real RampartLoop and RampartTransport (a real connection on a real loop),
# built instrumented into modules/real, which is searched before the stubs.
REAL=$MOD/real
CMAPS=()
for m in CLinux COpenSSL CCurl CNGHTTP2; do CMAPS+=(-Xcc "-fmodule-map-file=Sources/$m/module.modulemap"); done
if [ "$ONLY" = "  " ] || [[ "$ONLY" == *" h2-connection "* ]]; then
    mkdir -p "$REAL"
    if stale "$REAL/libRampartLoop.a" Sources/RampartLoop; then
        echo "building $REAL/libRampartLoop.a"
        rm -f "$REAL/libRampartLoop.a"
        quiet swiftc "${FLAGS[@]}" -module-name RampartLoop -emit-module -emit-module-path "$REAL/RampartLoop.swiftmodule" \
            -emit-library -static Sources/RampartLoop/*.swift "${CMAPS[@]}" -o "$REAL/libRampartLoop.a"
    fi
    if stale "$REAL/libRampartTransport.a" Sources/RampartTransport "$REAL/libRampartLoop.a" "$MOD/libRampartHTTP.a"; then
        echo "building $REAL/libRampartTransport.a"
        rm -f "$REAL/libRampartTransport.a"
        quiet swiftc "${FLAGS[@]}" -module-name RampartTransport -I "$REAL" -I "$MOD" -emit-module \
            -emit-module-path "$REAL/RampartTransport.swiftmodule" -emit-library -static Sources/RampartTransport/*.swift "${CMAPS[@]}" \
            -o "$REAL/libRampartTransport.a"
    fi
    if stale "$OUT/h2-connection" $F/H2Connection $F/Support.swift "$REAL/libRampartTransport.a"; then
        echo "building $OUT/h2-connection"
        quiet swiftc "${FLAGS[@]}" -module-name H2ConnectionFuzz -I "$REAL" -I "$MOD" $F/H2Connection/main.swift $F/Support.swift \
            "${CMAPS[@]}" -L "$REAL" -L "$MOD" -lRampartTransport -lRampartLoop -lRampartHTTP -lnghttp2 -lcurl -lssl -lcrypto \
            -o "$OUT/h2-connection"
    fi
fi

# The sanitizer's seeds: every payload of Tests/Fixtures/xss-corpus.jsonl and the formatted HTML of
# its unit tests (the other targets' seeds are in Fuzz/seeds/<name>, made by Fuzz/seeds.py).
python3 - "$OUT/generated/html-sanitizer" <<'PY'
import json, re, sys
lines = [l for l in open("Tests/Fixtures/xss-corpus.jsonl", encoding="utf-8") if not l.startswith("#")]
seeds = [json.loads(l)["payload"] for l in lines]
tests = open("Tests/RampartTests/HTMLSanitizerTests.swift", encoding="utf-8").read()
seeds += [json.loads(m) for m in re.findall(r'^\s*("<[^\n]*>"),$', tests, re.M)]
for i, s in enumerate(seeds):
    open(f"{sys.argv[1]}/seed-{i:04}.html", "w", encoding="utf-8").write(s)
PY
echo "fuzz targets up to date in $OUT"
