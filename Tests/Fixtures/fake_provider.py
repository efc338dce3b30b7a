"""A fake LLM provider for the AI-route tests: the Anthropic Messages and OpenAI Chat Completions
wire formats, streaming or not, with faults chosen per request by the model name, so one provider
serves every case and the real SDKs can talk to it unchanged.

Run: python3 fake_provider.py  -> prints "listening <port>" and serves on 127.0.0.1 until killed.

Model names (any other model answers normally):
  no-terminal          the stream ends cleanly without message_stop / data: [DONE]
  cut                  the stream stops mid-way: the connection closes with no last chunk
  status-<N>           answers status N with the provider's JSON error shape
  status-<N>-retry-<S> the same with Retry-After: S
  trace-500            a 500 whose body is a stack trace (not JSON)
  slow-<ms>            waits ms before answering (for deadline tests)
  slowbody-<ms>        sends the head of a JSON answer, then waits ms before its body
  say:<text>           answers <text> (streamed in pieces of 8 characters) instead of the greeting
  linger-<ms>          a stream waits ms after its terminal event before its last chunk (an SDK
                       hangs up on [DONE] / message_stop first, as it does when the end lags)

Like the real OpenAI API, a streamed chat completion carries a usage chunk only when the request
asks for it (stream_options.include_usage). Usage: input = 12 tokens, output = number of words.

Control: GET /_calls -> {"count": n, "bodies": [...], "headers": [...]}; POST /_reset clears them.
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ["Hello", " from", " the", " fake", " provider", "."]
INPUT_TOKENS = 12
lock = threading.Lock()
calls = {"count": 0, "bodies": [], "headers": []}


def words_for(model):
    """The answer's pieces: the greeting, or what a `say:` model asks for."""
    if model.startswith("say:"):
        text = model[4:]
        return [text[i:i + 8] for i in range(0, len(text), 8)] or [""]
    return WORDS


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    model = ""

    def do_GET(self):
        if self.path == "/_calls":
            with lock:
                return self.send_json(200, calls)
        self.send_json(404, {"error": {"type": "not_found_error", "message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/_reset":
            with lock:
                calls.update(count=0, bodies=[], headers=[])
            return self.send_json(200, {"reset": True})
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with lock:
            calls["count"] += 1
            calls["bodies"].append(body)
            calls["headers"].append({k.lower(): v for k, v in self.headers.items()})
        model = str(body.get("model", "ok"))
        self.model = model
        if model.startswith("slow-"):
            time.sleep(int(model[5:]) / 1000)
        if model.startswith("status-"):
            return self.provider_error(model)
        if model == "trace-500":
            return self.send_raw(500, "text/plain", b"Traceback (most recent call last):\n  File \"/srv/app.py\", line 3\nKeyError: 'x'\n")
        openai = self.path.startswith("/v1/chat/completions")
        if body.get("stream"):
            return self.stream_openai(body, model) if openai else self.stream_anthropic(model)
        text = "".join(words_for(model))
        if openai:
            return self.send_json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": len(words_for(model)), "total_tokens": INPUT_TOKENS + len(words_for(model))}})
        self.send_json(200, {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": len(words_for(model))}})

    def provider_error(self, model):
        parts = model.split("-")
        status = int(parts[1])
        retry = parts[3] if len(parts) > 3 and parts[2] == "retry" else None
        kind = {429: "rate_limit_error", 529: "overloaded_error", 503: "overloaded_error", 400: "invalid_request_error"}.get(status, "api_error")
        if self.path.startswith("/v1/chat/completions"):
            payload = {"error": {"message": "fake provider error %d" % status, "type": kind, "param": None, "code": None}}
        else:
            payload = {"type": "error", "error": {"type": kind, "message": "fake provider error %d" % status}}
        extra = {"Retry-After": retry} if retry else {}
        self.send_json(status, payload, extra)

    # --- streams -----------------------------------------------------------------------------

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, name, payload):
        head = b"event: %s\n" % name.encode() if name else b""
        self.chunk(head + b"data: " + json.dumps(payload).encode() + b"\n\n")

    def end_stream(self, model):
        if model.startswith("linger-"):
            time.sleep(int(model[7:]) / 1000)
            try:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                self.close_connection = True   # the client (or Rampart for it) is gone: expected
            return
        if model == "cut":
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def stream_anthropic(self, model):
        self.start_stream()
        self.event("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}})
        self.event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        words = WORDS[:3] if model in ("cut", "no-terminal") else words_for(model)
        for w in words:
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}})
        if model not in ("cut", "no-terminal"):
            self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
            self.event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                         "usage": {"output_tokens": len(words)}})
            self.event("message_stop", {"type": "message_stop"})
        self.end_stream(model)

    def stream_openai(self, body, model):
        self.start_stream()
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        first = dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        if include_usage:
            first["usage"] = None
        self.event(None, first)
        words = WORDS[:3] if model in ("cut", "no-terminal") else words_for(model)
        for w in words:
            c = dict(base, choices=[{"index": 0, "delta": {"content": w}, "finish_reason": None}])
            if include_usage:
                c["usage"] = None
            self.event(None, c)
        if model not in ("cut", "no-terminal"):
            c = dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
            if include_usage:
                c["usage"] = None
            self.event(None, c)
            if include_usage:
                self.event(None, dict(base, choices=[], usage={
                    "prompt_tokens": INPUT_TOKENS, "completion_tokens": len(words), "total_tokens": INPUT_TOKENS + len(words)}))
            self.chunk(b"data: [DONE]\n\n")
        self.end_stream(model)

    # --- plain answers -----------------------------------------------------------------------

    def send_json(self, status, payload, extra=None):
        self.send_raw(status, "application/json", json.dumps(payload).encode(), extra)

    def send_raw(self, status, content_type, data, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.model.startswith("slowbody-"):
            self.wfile.flush()
            time.sleep(int(self.model[9:]) / 1000)
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()
