"""A small OTLP/HTTP JSON receiver for the tracing tests (standard library only): POST /v1/traces
bodies are kept; GET /spans answers every span received so far, each with its resource's
service.name. Prints `listening <port>` once ready."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPANS, LOCK = [], threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        with LOCK:
            for rs in body.get("resourceSpans", []):
                service = next((a["value"]["stringValue"] for a in rs.get("resource", {}).get("attributes", [])
                                if a["key"] == "service.name"), None)
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        span["service"] = service
                        span["content_type"] = self.headers.get("content-type")
                        SPANS.append(span)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        with LOCK:
            data = json.dumps(SPANS).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
