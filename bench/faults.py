#!/usr/bin/env python3
"""The fault matrix of bench/faults.sh: confirmed-save streams through the real Rampart while one
fault at a time hits it, with a config reload every second throughout.

Peers, all on 127.0.0.1: redis-server (the store: quotas and the save journal), the demo app (the
save endpoint, PUT/GET /api/chapters/{id}/content, faulted through its /_demo/faults), and a
generation upstream in this process that streams Anthropic-format SSE and can reset, stall or fail
on demand. It records the text it sent for each stream, so every cell can count what the client
lost. Rampart's route saves each stream to the demo app (`save.upstream`), 2 attempts.

Each cell runs STREAMS streams (CONCURRENCY at a time) and prints:
  lost_bytes   generated text the upstream sent that the client did not receive
  acked        saves the client was told of: save_status success:true, or journaled (a save_id)
  acked_lost   acknowledged saves not at the app at the end (after ops replay the journal): must be 0
  errors       what the clients saw other than a clean 200 stream (status codes, error events, cuts)
  up           whether Rampart was still serving after the cell (the kill cell restarts it)
Standard library only. Usage: python3 bench/faults.py RAMPART_BIN DEMO_BIN WORKDIR [streams=100]
"""
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIN, DEMO_BIN, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
STREAMS = int(sys.argv[4]) if len(sys.argv) > 4 else 100
CONCURRENCY = 10
DELTAS = 20
REDIS, DEMO, GEN, RMP, ADM = 18890, 18891, 18892, 18893, 18894
TOKEN = "faults-admin"
SENT = {}                # chapterId -> text the upstream sent
SENT_LOCK = threading.Lock()
MODE = {"fault": "none"}


def delta(text):
    return ("event: content_block_delta\ndata: " + json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}) + "\n\n").encode()


class Generator(BaseHTTPRequestHandler):
    """POST /gen: an Anthropic stream of DELTAS text deltas, shaped by MODE["fault"]."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        cid, fault = body.get("chapterId", "x"), MODE["fault"]
        with SENT_LOCK:
            SENT[cid] = ""
        if fault == "storm":
            msg = b'{"error":"internal","trace":"at Generator.do_POST"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        if fault == "stall_head":
            time.sleep(4)          # past first_byte (2 s)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data):
            # Rampart cut the stream (a timeout): what would follow was never sent to it.
            if peer_closed(self.connection):
                raise ConnectionResetError("closed by Rampart")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        try:
            chunk(b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":0}}}\n\n')
            for i in range(DELTAS):
                if fault == "reset" and i == DELTAS // 2:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if fault == "stall_mid" and i == DELTAS // 2:
                    time.sleep(4)  # past idle (2 s)
                pace = {"trickle": 0.6, "slow": 0.05}.get(fault, 0.01)   # trickle: 12 s > total (8 s)
                text = f"{cid} word {i}. "
                chunk(delta(text))
                with SENT_LOCK:
                    SENT[cid] += text
                time.sleep(pace)
            chunk(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
            chunk(b"")
        except OSError:
            self.close_connection = True


class GenServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256   # stalled streams must not fill the accept queue (a connect timeout)


def peer_closed(sock):
    """True when the peer has closed (readable with nothing to read): no request is pipelined here."""
    import select
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def config():
    return {
        "server": {"listen": f"127.0.0.1:{RMP}", "workers": 2, "drain_delay": "0s", "drain_timeout_ms": 3000},
        "admin": {"listen": f"127.0.0.1:{ADM}", "token_env": "FAULTS_ADMIN_TOKEN"},
        "store": {"kind": "redis", "url": f"redis://127.0.0.1:{REDIS}/0", "dir": f"{WORK}/state", "on_unavailable": "allow"},
        "upstreams": {
            "gen": {"url": f"http://127.0.0.1:{GEN}", "timeouts": {"connect": "1s", "first_byte": "2s", "idle": "2s", "total": "8s"}},
            "app": {"url": f"http://127.0.0.1:{DEMO}", "timeouts": {"connect": "1s", "first_byte": "2s", "idle": "2s", "total": "5s"}}},
        "routes": [
            {"name": "gen", "match": {"methods": ["POST"], "path": "/gen"}, "upstream": "gen",
             "quotas": [{"limit": 100000, "per": "1h"}],
             "stream_save": {"format": "anthropic",
                             "save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{body.chapterId}/content",
                                      "body": {"content": "{content}"}, "attempts": 2, "backoff": "200ms"},
                             "echo": {"chapterId": "{body.chapterId}"}, "wait": "10s", "continue_on_disconnect": True}},
            {"name": "default", "match": {"path_prefix": "/"}, "upstream": "app"}],
        "logging": {"access_log": False},
    }


class Procs:
    def __init__(self):
        self.redis = self.rampart = None
        # store.dir on a 4 MiB tmpfs, so the disk-full cell can fill it (root only).
        self.small_disk = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", f"{WORK}/state"],
                                         capture_output=True).returncode == 0
        self.demo = subprocess.Popen([DEMO_BIN, "--port", str(DEMO)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{DEMO}/healthz")
        self.start_redis()
        with open(f"{WORK}/gateway.json", "w") as f:
            json.dump(config(), f)
        self.start_rampart()

    def start_redis(self):
        self.redis = subprocess.Popen(["redis-server", "--port", str(REDIS), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if self.redis.poll() is not None:
                raise SystemExit(f"redis-server exited (is port {REDIS} taken?)")
            if subprocess.run(["redis-cli", "-p", str(REDIS), "ping"], capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def stop_redis(self):
        self.redis.terminate()
        self.redis.wait()

    def start_rampart(self):
        log = open(f"{WORK}/rampart.log", "ab")
        self.rampart = subprocess.Popen([BIN, "serve", "--config", f"{WORK}/gateway.json"], stdout=log, stderr=log,
                                        env={**os.environ, "FAULTS_ADMIN_TOKEN": TOKEN})
        wait_http(f"http://127.0.0.1:{RMP}/_rampart/healthz")

    def up(self):
        try:
            return self.rampart.poll() is None and urllib.request.urlopen(
                f"http://127.0.0.1:{RMP}/_rampart/healthz", timeout=5).status == 200
        except OSError:
            return False

    def stop(self):
        for p in (self.rampart, self.demo, self.redis):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.small_disk:
            subprocess.run(["umount", f"{WORK}/state"], capture_output=True)


def wait_http(url, tries=200):
    for _ in range(tries):
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def admin(method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{ADM}{path}", method=method, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def demo(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{DEMO}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def one_stream(cid, result):
    """Runs one stream; fills result with status, received text, save_status and errors."""
    result.update(cid=cid, status=0, text="", save=None, error=None)
    try:
        c = http.client.HTTPConnection("127.0.0.1", RMP, timeout=30)
        c.request("POST", "/gen", body=json.dumps({"chapterId": cid}), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        result["status"] = r.status
        if r.status != 200:
            r.read()
            result["error"] = f"http {r.status}"
            return
        buf = b""
        while True:
            data = r.read1(65536) if hasattr(r, "read1") else r.read(4096)
            if not data:
                break
            buf += data
            while b"\n\n" in buf:
                raw, buf = buf.split(b"\n\n", 1)
                event = dict(line.split(": ", 1) for line in raw.decode().split("\n") if ": " in line)
                d = json.loads(event.get("data", "null") or "null")
                if event.get("event") == "content_block_delta":
                    result["text"] += d["delta"]["text"]
                elif event.get("event") == "save_status":
                    result["save"] = d
                elif event.get("event") == "error":
                    result["error"] = "error event: " + str(d.get("error", {}).get("code", d))
        if result["save"] is None and result["error"] is None:
            result["error"] = "stream ended without save_status"
    except (OSError, http.client.HTTPException, ValueError) as e:
        result["error"] = f"cut: {type(e).__name__}"


def run_cell(name, procs, fault="none", during=None, after=None, events=None):
    """Runs STREAMS streams; `during` runs once a third have started, each (n, action) of `events`
    once n have started (new streams wait for it), `after` when all have ended."""
    events = dict(events or ([(STREAMS // 3, during)] if during else []))
    # Each cell starts with the upstream's breaker closed: the previous cell's failures opened it.
    admin("POST", "/admin/breakers/gen/reset")
    MODE["fault"] = fault
    results = [dict() for _ in range(STREAMS)]
    ids = [f"{name}-{i}-{int(time.time() * 1000) % 100000}" for i in range(STREAMS)]
    threads, started = [], 0
    sem = threading.Semaphore(CONCURRENCY)

    def run(i):
        try:
            one_stream(ids[i], results[i])
        finally:
            sem.release()
    for i in range(STREAMS):
        sem.acquire()
        t = threading.Thread(target=run, args=(i,))
        t.start()
        threads.append(t)
        started += 1
        if started in events:
            events[started](procs)
    for t in threads:
        t.join(120)
    MODE["fault"] = "none"
    if after:
        after(procs)
    return ids, results


def verdict(name, ids, results, procs):
    lost = corrupt = 0
    acked, errors = [], {}
    for cid, r in zip(ids, results):
        sent = SENT.get(cid, "")
        if sent.startswith(r.get("text", "")):
            lost += len(sent.encode()) - len(r.get("text", "").encode())
        else:
            corrupt += 1
        s = r.get("save")
        if s and (s.get("success") is True or s.get("save_id")):
            acked.append(cid)
        if r.get("error") or (s and s.get("success") is not True):
            key = r.get("error") or ("save journaled" if s.get("save_id") else f"save not journaled: {s.get('reason')}")
            errors[key] = errors.get(key, 0) + 1
    # Ops replay whatever was journaled, now that the cell's fault is over.
    try:
        for entry in admin("GET", "/admin/saves").get("saves", []):
            try:
                admin("POST", f"/admin/saves/{entry['id']}/replay")
            except OSError:
                pass
    except OSError:
        pass
    acked_lost = 0
    for cid in acked:
        status, body = demo("GET", f"/api/chapters/{cid}/content")
        if status != 200 or body.get("content") != SENT.get(cid):
            acked_lost += 1
    up = procs.up()
    row = (name, len(ids), lost, len(acked), acked_lost, corrupt, up, errors)
    print(f"{name:<22} {len(ids):>7} {lost:>10} {len(acked):>6} {acked_lost:>10} {corrupt:>8} {str(up):>5}  "
          + (", ".join(f"{k} x{v}" for k, v in sorted(errors.items())) or "-"), flush=True)
    return row


def main():
    os.makedirs(f"{WORK}/state", exist_ok=True)
    gen = GenServer(("127.0.0.1", GEN), Generator)
    threading.Thread(target=gen.serve_forever, daemon=True).start()
    procs = Procs()
    stop = threading.Event()

    def reloader():
        while not stop.wait(1):
            if procs.rampart and procs.rampart.poll() is None:
                procs.rampart.send_signal(signal.SIGHUP)
    threading.Thread(target=reloader, daemon=True).start()

    def save_endpoint_down(p):
        demo("POST", "/_demo/faults", {"path_prefix": "/api/chapters/", "method": "PUT", "status": 503, "times": -1})

    def save_endpoint_back(p):
        demo("DELETE", "/_demo/faults")

    def redis_blip(p):
        p.stop_redis()
        time.sleep(3)
        p.start_redis()

    filler = f"{WORK}/state/filler"

    def disk_full(p):
        # The save endpoint and Redis down: saves go to the local journal, on a full disk.
        save_endpoint_down(p)
        p.stop_redis()
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)   # tmpfs pages

    def disk_back(p):
        os.remove(filler)
        p.start_redis()
        save_endpoint_back(p)

    def journal_local(p):
        # Saves fail and Redis is down: each is acknowledged only once fsync'd to the local journal.
        save_endpoint_down(p)
        p.stop_redis()

    def kill9(p):
        time.sleep(0.5)            # streams in flight, some mid-save
        p.rampart.kill()
        p.rampart.wait()
        p.start_rampart()          # new streams wait until it serves again

    def all_back(p):
        p.start_redis()
        save_endpoint_back(p)

    print(f"{'cell':<22} {'streams':>7} {'lost_bytes':>10} {'acked':>6} {'acked_lost':>10} {'corrupt':>8} {'up':>5}  errors seen by clients")
    rows = []
    try:
        rows.append(verdict("baseline", *run_cell("baseline", procs), procs))
        rows.append(verdict("upstream reset mid", *run_cell("reset", procs, "reset"), procs))
        rows.append(verdict("stall > first_byte", *run_cell("stallhead", procs, "stall_head"), procs))
        rows.append(verdict("stall > idle", *run_cell("stallmid", procs, "stall_mid"), procs))
        rows.append(verdict("trickle > total", *run_cell("trickle", procs, "trickle"), procs))
        rows.append(verdict("5xx storm", *run_cell("storm", procs, "storm"), procs))
        rows.append(verdict("save endpoint down", *run_cell("savedown", procs, during=save_endpoint_down,
                                                             after=save_endpoint_back), procs))
        rows.append(verdict("redis stop/restart", *run_cell("redis", procs, "slow", during=redis_blip), procs))
        if procs.small_disk:
            rows.append(verdict("journal disk full", *run_cell("diskfull", procs, during=disk_full, after=disk_back), procs))
        else:
            print("journal disk full      skipped: mounting a small tmpfs for store.dir needs root (CAP_SYS_ADMIN)")
        rows.append(verdict("kill -9 mid-save", *run_cell("kill9", procs, "slow", events=[(1, journal_local), (STREAMS // 2, kill9)],
                                                           after=all_back), procs))
    finally:
        stop.set()
        procs.stop()
        gen.shutdown()
    bad = [r for r in rows if r[4] or r[5] or not r[6]]
    print("acknowledged saves lost: %d; streams with corrupted text: %d; cells where Rampart was down after: %d"
          % (sum(r[4] for r in rows), sum(r[5] for r in rows), sum(not r[6] for r in rows)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
