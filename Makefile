# Rampart: two commands on a fresh machine.
#   make run   installs what is missing, builds release, starts the demo app and Rampart
#   make test  installs what is missing, builds, runs every test
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# What building and running need; what only the tests need on top (Redis, the ops-test tools,
# systemd-analyze for the unit file); what only the benchmarks need.
RUN_PACKAGES := libcurl4-openssl-dev libssl-dev libxml2-dev libnghttp2-dev pkg-config curl openssl
TEST_PACKAGES := python3 python3-venv redis-server wrk chromium chromium-driver systemd binutils
BENCH_PACKAGES := nginx-light wrk valgrind nghttp2-client

.PHONY: deps build release run test test-sanitized bench clean venv fuzz-build fuzz

# Installs only the Debian packages that are missing (apt-get update once, only when needed).
deps:
	@missing=""; for p in $(RUN_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift toolchain not found on PATH (Swift 6 is required)"; exit 1; }

build: deps
	swift build

release: deps
	swift build -c release

# The admin token lives in var/rampart/admin-token (0600, made once with a random value), so
# the walkthrough's admin commands work from any terminal in this folder: $(cat var/rampart/admin-token).
run: release
	@mkdir -p var/rampart
	@[ -s var/rampart/admin-token ] || (umask 077; openssl rand -hex 24 > var/rampart/admin-token)
	@BIN=$$(swift build -c release --show-bin-path); \
	$$BIN/rampart check --config gateway.json || exit 1; \
	$$BIN/rampart-demo-app --port 3000 & DEMO=$$!; \
	trap 'kill $$DEMO 2>/dev/null; wait $$DEMO 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 50); do curl -sf http://127.0.0.1:3000/healthz >/dev/null && break; sleep 0.1; done; \
	echo; \
	echo "Rampart on http://127.0.0.1:8080 in front of the demo app on http://127.0.0.1:3000"; \
	echo "Admin on http://127.0.0.1:9901 (dashboard: /admin/), metrics without a token on http://127.0.0.1:9902/metrics"; \
	echo "Admin token: var/rampart/admin-token. In another terminal, in this folder:"; \
	echo "  curl -i http://127.0.0.1:8080/                                  # demo page, with security headers"; \
	echo "  curl -N -X POST http://127.0.0.1:8080/api/ai/generate/chapter -H 'Content-Type: application/json' -d '{\"chapterId\":\"c42\"}'"; \
	echo "  curl -i http://127.0.0.1:8080/boom                              # upstream 500 + stack trace -> scrubbed 502"; \
	echo "  curl -i 'http://127.0.0.1:8080/slow?ms=40000'                   # first_byte timeout -> 504 after 30 s"; \
	echo '  curl -s -H "Authorization: Bearer $$(cat var/rampart/admin-token)" http://127.0.0.1:9901/admin/status'; \
	echo "  curl -s http://127.0.0.1:9902/metrics"; \
	echo; \
	$$BIN/rampart serve --config gateway.json

# Test tools from PyPI in a local venv: httplint (from redbot), PyYAML, the real clients
# (the anthropic and openai SDKs, httpx-sse) that read confirmed-save streams, selenium (drives Debian's
# chromium through the admin dashboard), prometheus_client (parses /metrics), websockets (the
# WebSocket client and upstream of the socket tests) and h2 (the HTTP/2 client of the HTTP/2 tests,
# abuse included). The stamp names the tool list, so adding a tool reinstalls.
VENV_STAMP := .venv/.installed-redbot-pyyaml-anthropic-openai-httpx-sse-selenium-prometheus-websockets-h2
venv: $(VENV_STAMP)
$(VENV_STAMP):
	$(MAKE) deps EXTRA_PACKAGES="$(TEST_PACKAGES)"
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check redbot pyyaml anthropic openai httpx httpx-sse selenium prometheus-client websockets h2
	touch $@

# libFuzzer targets for every parser that reads outside bytes (Fuzz/build.sh lists them; each is
# rebuilt only when its sources change), each smoke-run over its seeds plus a few thousand
# mutations (Fuzz/run.sh smoke, about 10 s for all); `make fuzz` runs each for FUZZ_SECONDS
# (default 60), keeping new corpus entries in .build/fuzz/seeds/<target>. README: Fuzzing.
FUZZ_SECONDS ?= 60
fuzz-build: deps
	Fuzz/build.sh
	Fuzz/run.sh smoke

fuzz: fuzz-build
	Fuzz/run.sh long $(FUZZ_SECONDS)

# Unit tests and integration tests (the latter start the real binaries on 127.0.0.1), and the fuzz smoke.
test: venv fuzz-build
	$(MAKE) deps EXTRA_PACKAGES="$(TEST_PACKAGES)"
	swift build
	RAMPART_BIN_DIR=$$(swift build --show-bin-path) swift test --no-parallel 2>&1 | tee .build/test-output.txt; \
	exit $${PIPESTATUS[0]}

# The unit and integration suites built with ThreadSanitizer, then with AddressSanitizer (each in
# its own scratch path, so the normal build stays as it is). The integration tests run the
# sanitized `rampart` too; a report from it fails its test, since the sanitizer makes it exit 66
# (TSan) or abort (ASan). See the README for how long each takes.
SANITIZED_TEST := swift test --skip-build --no-parallel
test-sanitized: venv
	$(MAKE) deps EXTRA_PACKAGES="$(TEST_PACKAGES)"
	swift build --build-tests --sanitize=thread -Xswiftc -DRAMPART_TSAN --scratch-path .build/tsan
	RAMPART_SANITIZER=thread TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/Tests/Fixtures/tsan.supp" \
	RAMPART_BIN_DIR=$$(swift build --sanitize=thread -Xswiftc -DRAMPART_TSAN --scratch-path .build/tsan --show-bin-path) \
	  $(SANITIZED_TEST) --sanitize=thread -Xswiftc -DRAMPART_TSAN --scratch-path .build/tsan 2>&1 | tee .build/test-tsan.txt; exit $${PIPESTATUS[0]}
	swift build --build-tests --sanitize=address --scratch-path .build/asan
	RAMPART_SANITIZER=address ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:quarantine_size_mb=16" \
	RAMPART_BIN_DIR=$$(swift build --sanitize=address --scratch-path .build/asan --show-bin-path) \
	  $(SANITIZED_TEST) --sanitize=address --scratch-path .build/asan 2>&1 | tee .build/test-asan.txt; exit $${PIPESTATUS[0]}

bench:
	$(MAKE) deps EXTRA_PACKAGES="$(BENCH_PACKAGES)"
	bash bench/proxy.sh

clean:
	rm -rf .build var
