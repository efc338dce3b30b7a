"""A small HTTPS upstream for the https:// (libcurl) tests, independent of Rampart's own TLS.

Run: python3 tls_upstream.py CERT KEY  -> prints "listening <port>" and serves TLS on 127.0.0.1.

  GET|POST /echo...      200 JSON {"method", "target", "host", "headers": [[name, value]...], "body"}
                         (a request body with Content-Length or chunked)
  GET /sse/stepped?id=X&events=N
                         an event stream (chunked): `tick` events {"n": i, "id": X}, the last one
                         `done`; event 1 at once, each next one only after POST /_step?id=X, so a
                         proxy that buffers would stall (gives up after 60 s without a step)
  GET /big?bytes=N       N bytes (byte i is i % 251) with Content-Length, written 64 KiB at a time
  GET /hop               200 with every kind of hop-by-hop field beside X-Kept, chunked body "hello"
  POST /_step?id=X       releases the next event of stream X
"""
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

steps = {}
steps_lock = threading.Lock()


def step_event(stream_id):
    with steps_lock:
        return steps.setdefault(stream_id, threading.Semaphore(0))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def echo(self):
        body = self.body()
        self.send_json(200, {"method": self.command, "target": self.path, "host": self.headers.get("Host"),
                             "headers": [[k, v] for k, v in self.headers.items()],
                             "body": body.decode("utf-8", "replace")})

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stepped(self, query):
        stream_id = query.get("id", ["default"])[0]
        events = int(query.get("events", ["3"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        gate = step_event(stream_id)
        for n in range(1, events + 1):
            if n > 1 and not gate.acquire(timeout=60):
                break
            last = n == events
            data = {"n": n, "id": stream_id}
            if last:
                data["done"] = True
            self.chunk(("event: %s\ndata: %s\n\n" % ("done" if last else "tick", json.dumps(data, separators=(",", ":")))).encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def big(self, query):
        total = int(query.get("bytes", ["1048576"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        pattern = bytes(i % 251 for i in range(251 * 262))   # 65,762 bytes; every slice starts on a multiple of 251
        sent = 0
        while sent < total:
            piece = pattern[:min(len(pattern), total - sent)]
            self.wfile.write(piece)
            sent += len(piece)
        self.wfile.flush()

    def hop(self):
        self.wfile.write(b"HTTP/1.1 200 OK\r\n"
                         b"Connection: keep-alive, X-Internal-Route\r\n"
                         b"X-Internal-Route: db-7.internal\r\n"
                         b"Keep-Alive: timeout=5, max=100\r\n"
                         b"Proxy-Authenticate: Basic realm=\"internal\"\r\n"
                         b"Proxy-Connection: keep-alive\r\n"
                         b"Proxy-Authentication-Info: nextnonce=\"abc\"\r\n"
                         b"Upgrade: h2c\r\n"
                         b"Trailer: X-Checksum\r\n"
                         b"X-Kept: yes\r\n"
                         b"Content-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n")
        self.wfile.flush()

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/sse/stepped":
            return self.stepped(query)
        if url.path == "/big":
            return self.big(query)
        if url.path == "/hop":
            return self.hop()
        if url.path.startswith("/echo"):
            return self.echo()
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        url = urlsplit(self.path)
        if url.path == "/_step":
            self.body()
            step_event(parse_qs(url.query).get("id", ["default"])[0]).release()
            return self.send_json(200, {"ok": True})
        if url.path.startswith("/echo"):
            return self.echo()
        self.send_json(404, {"error": "not found"})


def main():
    cert, key = sys.argv[1], sys.argv[2]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # The handshake runs in the handler's thread (on its first read), so one client that fails
    # or stalls it (a verifying client refusing the certificate) never blocks accept().
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.handle_error = lambda request, address: None
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
