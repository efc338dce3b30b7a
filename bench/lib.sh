# Shared by the bench scripts: tool installs, the release build, and the nginx upstream, nginx proxy
# and Rampart configs they all measure against (so the numbers of different scripts compare).

# need TOOL... : installs the Debian packages giving the tools that are missing.
need() {
  local sudo pkgs=() tool
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    case $tool in
      nginx) pkgs+=(nginx-light) ;;
      valgrind|callgrind_control|callgrind_annotate) pkgs+=(valgrind) ;;
      *) pkgs+=("$tool") ;;            # wrk, redis-server, strace: the package is the tool's name
    esac
  done
  [ ${#pkgs[@]} = 0 ] && return
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}"
}

# release_bin: prints the path of Rampart's release binary. With RAMPART_BIN set, that binary as is
# (no build); otherwise builds it first, holding /tmp/rampart-build.lock so that two builds of this
# checkout (a bench script's and someone else's) never run at once.
release_bin() {
  if [ -n "${RAMPART_BIN:-}" ]; then
    [ -x "$RAMPART_BIN" ] || { echo "RAMPART_BIN=$RAMPART_BIN is not an executable" >&2; return 1; }
    echo "$RAMPART_BIN"; return
  fi
  # Run as `flock /tmp/rampart-build.lock bash bench/...`, the script already holds the lock through
  # a descriptor it inherited; a second flock would open the file anew and wait for itself forever.
  local fd
  for fd in /proc/$$/fd/*; do
    if [ "$(readlink "$fd")" = /tmp/rampart-build.lock ] && flock -n "${fd##*/}"; then
      swift build -c release --product rampart >/dev/null
      echo "$(swift build -c release --show-bin-path)/rampart"; return
    fi
  done
  flock /tmp/rampart-build.lock swift build -c release --product rampart >/dev/null
  echo "$(flock /tmp/rampart-build.lock swift build -c release --show-bin-path)/rampart"
}

# upstream_conf DIR PORT BODY: an nginx upstream (1 worker, access log off) answering BODY.
upstream_conf() {
  cat > "$1/upstream.conf" <<NGINX
worker_processes 1; daemon off; pid $1/upstream.pid; error_log $1/upstream.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$2; location / { default_type text/plain; return 200 "$3"; } } }
NGINX
}

# The five security headers both proxies add to every response, for nginx and for Rampart.
SECURITY_HEADERS_NGX='add_header Content-Security-Policy "default-src '"'"'self'"'"'" always; add_header X-Frame-Options DENY always; add_header X-Content-Type-Options nosniff always; add_header Referrer-Policy origin-when-cross-origin always; add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;'
SECURITY_HEADERS_JSON='{"Content-Security-Policy": "default-src '"'"'self'"'"'", "X-Frame-Options": "DENY",
     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "origin-when-cross-origin",
     "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}'

# nginx_proxy_conf DIR PORT UPSTREAM_PORT [MAIN] [WORKER_CONNECTIONS=4096] [LOCATION]: writes
# DIR/proxy.conf, nginx as the reverse proxy Rampart is compared with: 1 worker, a keep-alive
# upstream pool, the five security headers, access log off. MAIN is added at the top level (e.g.
# "master_process off;" so that callgrind or strace sees the worker itself), LOCATION inside
# `location /` (e.g. "proxy_buffering off;" for event streams).
nginx_proxy_conf() {
  cat > "$1/proxy.conf" <<NGINX
worker_processes 1; daemon off; pid $1/proxy.pid; error_log $1/proxy.err; ${4:-}
events { worker_connections ${5:-4096}; }
http { access_log off; keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$3; keepalive 128; }
  server { listen 127.0.0.1:$2;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; $SECURITY_HEADERS_NGX ${6:-} } } }
NGINX
}

# proxy_gateway_json PORT ADMIN_LISTEN UPSTREAM_URL: Rampart as a plain proxy with the five
# security headers nginx adds (nginx_proxy_conf), 1 worker, access log off.
proxy_gateway_json() {
  cat <<JSON
{ "server": {"listen": "127.0.0.1:$1", "workers": 1}, "admin": {"listen": $2},
  "upstreams": {"app": {"url": "$3"}},
  "headers": {"set": $SECURITY_HEADERS_JSON},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}}],
  "logging": {"access_log": false} }
JSON
}

# wait_http URL [TRIES=100]: polls URL every 0.1 s until it answers 2xx; fails after TRIES.
wait_http() {
  local i
  for i in $(seq 1 "${2:-100}"); do curl -sf -o /dev/null --max-time 2 "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}

# callgrind_count DIR NAME PORT DUR COMMAND... : runs COMMAND (a proxy listening on PORT) under
# valgrind's callgrind, warms it up with wrk for 3 s, zeroes the counters, runs wrk -t1 -c10 for DUR
# seconds, dumps, and stops COMMAND. Sets CG_REQUESTS (what wrk completed), CG_INSTRUCTIONS and
# CG_PROFILE (DIR/NAME.out.N). wrk also gets the array WRK_EXTRA (e.g. -H "Authorization: ..."),
# if set, and valgrind the words in CALLGRIND_EXTRA (e.g. --dump-instr=yes for a per-instruction
# profile). The valgrind pid is added to the caller's array `pids`, for its EXIT trap.
callgrind_count() {
  local dir=$1 name=$2 port=$3 dur=$4; shift 4
  local extra=("${WRK_EXTRA[@]+"${WRK_EXTRA[@]}"}") vg
  valgrind --tool=callgrind ${CALLGRIND_EXTRA:-} --callgrind-out-file=$dir/$name.out "$@" > $dir/$name.log 2>&1 &
  vg=$!; pids+=($vg)
  wait_http http://127.0.0.1:$port/ 1200 || { cat $dir/$name.log >&2; return 1; }
  wrk -t1 -c10 -d3s "${extra[@]}" http://127.0.0.1:$port/ >/dev/null   # warm-up: pools, caches, first allocations
  sleep 1; callgrind_control -z $vg >/dev/null 2>&1
  CG_REQUESTS=$(wrk -t1 -c10 -d${dur}s "${extra[@]}" http://127.0.0.1:$port/ | awk '/requests in/{print $1}')
  sleep 1; callgrind_control -d $vg >/dev/null 2>&1; sleep 1
  CG_PROFILE=$(ls -t $dir/$name.out.* | head -1)
  CG_INSTRUCTIONS=$(callgrind_annotate $CG_PROFILE 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  kill -INT $vg; wait $vg 2>/dev/null || true
}

# wrk_figures FILE: "req/s p50_ms p99_ms non2xx" from a `wrk --latency` report.
wrk_figures() {
  python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    n, u = re.match(r'([\d.]+)(us|ms|s)', v).groups(); n = float(n)
    return n / 1000 if u == 'us' else n * 1000 if u == 's' else n
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
p50 = ms(re.search(r'\s50%\s+(\S+)', t).group(1)); p99 = ms(re.search(r'\s99%\s+(\S+)', t).group(1))
errs = re.search(r'Non-2xx or 3xx responses: (\d+)', t)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errs.group(1) if errs else 0}")
PY
}

# Process figures the memory and CPU benches read from /proc, summed over the given pids:
# tree PID (a process and its children), rss_kib, fds, cpu_ticks (utime + stime, 10 ms ticks).
tree() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
rss_kib() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/{print $2}' /proc/$p/status))); done; echo $s; }
fds() { local s=0 p; for p in "$@"; do s=$((s + $(ls /proc/$p/fd | wc -l))); done; echo $s; }
cpu_ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $s; }
