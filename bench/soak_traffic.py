#!/usr/bin/env python3
"""Mixed traffic for bench/soak.sh, at a steady rate until SIGTERM or --seconds pass.

Each worker thread loops over a weighted mix, one request at a time on its own keep-alive
connection (reconnecting when Rampart or a blip closes it):
  page      GET /                                    the demo page with the security headers
  chat      POST /api/ai/chat                        a chat history the route truncates
  stream    POST /api/ai/generate/chapter            an SSE stream read to its end, save confirmed
  abandon   the same stream, closed after its first event (the save must still happen)
  auth      POST /api/auth/login                     a tight per-IP quota: 429s on purpose
  echo      POST /echo with a 4 KiB body
Users are X-User-Id u0..u499 (Rampart trusts 127.0.0.1). Every 10 s, and at the end, prints one
line of JSON with the counts so far: per kind, per status, stream saves by save_status, and
transport errors. Standard library only.

Usage: python3 bench/soak_traffic.py PORT [--rate 120] [--workers 8] [--seconds 3600]
"""
import argparse
import json
import random
import signal
import socket
import sys
import threading
import time

MIX = [("page", 40), ("chat", 15), ("stream", 15), ("abandon", 5), ("auth", 10), ("echo", 15)]


class Conn:
    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def request(self, method, path, body=b"", headers=None, first_event_only=False):
        """Sends one request; returns (status, body bytes). Raises on transport errors."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        lines = [f"{method} {path} HTTP/1.1", "Host: soak"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = self._read_until(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            fields[k.strip().lower()] = v.strip().lower()
        if first_event_only:
            self._read_until(b"\n\n")
            self.close()
            return status, b""
        if fields.get(b"transfer-encoding") == b"chunked":
            out = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                out += self._read_exact(size + 2)[:-2]
        elif b"content-length" in fields:
            out = self._read_exact(int(fields[b"content-length"]))
        else:
            out = self.buf
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
                out += d
            self.close()
        if fields.get(b"connection") == b"close":
            self.close()
        return status, out

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("closed by peer")
        self.buf += d

    def _read_until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kinds, self.statuses, self.saves, self.errors = {}, {}, {}, {}

    def add(self, table, key):
        with self.lock:
            table[key] = table.get(key, 0) + 1

    def line(self, t):
        with self.lock:
            return json.dumps({"t": round(t), "kinds": self.kinds, "statuses": self.statuses,
                               "saves": self.saves, "errors": self.errors}, sort_keys=True)


def worker(port, interval, stop, stats, seed):
    rnd = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    conn = Conn(port)
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": "word " * 200} for i in range(60)]
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += interval
        kind = rnd.choice(kinds)
        user = f"u{rnd.randrange(500)}"
        h = {"X-User-Id": user, "Content-Type": "application/json"}
        try:
            if kind == "page":
                status, _ = conn.request("GET", "/", headers=h)
            elif kind == "chat":
                body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": history}).encode()
                status, _ = conn.request("POST", "/api/ai/chat", body, h)
            elif kind in ("stream", "abandon"):
                body = json.dumps({"chapterId": f"soak-{seed}-{rnd.randrange(10**9)}"}).encode()
                status, out = conn.request("POST", "/api/ai/generate/chapter", body, h, first_event_only=kind == "abandon")
                if kind == "stream" and status == 200:
                    text = out.decode("utf-8", "replace")
                    i = text.find("event: save_status")
                    result = "missing"
                    if i >= 0:
                        data = text[i:].split("data: ", 1)[1].split("\n", 1)[0]
                        d = json.loads(data)
                        result = "saved" if d.get("success") else ("journaled" if d.get("save_id") else "failed")
                    stats.add(stats.saves, result)
            elif kind == "auth":
                status, _ = conn.request("POST", "/api/auth/login", b"{}", h)
            else:
                status, _ = conn.request("POST", "/echo", b"x" * 4096, h)
            stats.add(stats.kinds, kind)
            stats.add(stats.statuses, str(status))
        except (OSError, ValueError, IndexError) as e:
            conn.close()
            stats.add(stats.errors, type(e).__name__)
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--rate", type=float, default=120, help="requests per second, all workers together")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3600)
    a = ap.parse_args()
    stop, stats = threading.Event(), Stats()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=worker, args=(a.port, a.workers / a.rate, stop, stats, i), daemon=True)
               for i in range(a.workers)]
    for t in threads:
        t.start()
    start = time.monotonic()
    while not stop.wait(10):
        print(stats.line(time.monotonic() - start), flush=True)
        if time.monotonic() - start >= a.seconds:
            stop.set()
    for t in threads:
        t.join(timeout=40)
    print(stats.line(time.monotonic() - start), flush=True)


if __name__ == "__main__":
    sys.exit(main())
