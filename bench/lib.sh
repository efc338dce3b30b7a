# Shared by the bench scripts: tool installs, the release build, and the nginx upstream and
# Rampart configs they all measure against (so the numbers of different scripts compare).

# need TOOL... : installs the Debian packages giving the tools when any is missing.
need() {
  local sudo; sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light wrk redis-server valgrind
    return
  done
}

# release_bin: builds Rampart in release mode and prints the binary's path.
release_bin() {
  swift build -c release --product rampart >/dev/null
  echo "$(swift build -c release --show-bin-path)/rampart"
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

# proxy_gateway_json PORT ADMIN_LISTEN UPSTREAM_URL: Rampart as a plain proxy with the five
# security headers nginx adds in proxy.sh, 1 worker, access log off.
proxy_gateway_json() {
  cat <<JSON
{ "server": {"listen": "127.0.0.1:$1", "workers": 1}, "admin": {"listen": $2},
  "upstreams": {"app": {"url": "$3"}},
  "headers": {"set": {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "origin-when-cross-origin",
     "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}},
  "routes": [{"name": "default", "match": {"path_prefix": "/"}}],
  "logging": {"access_log": false} }
JSON
}
