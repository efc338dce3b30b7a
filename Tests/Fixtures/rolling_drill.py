"""A rolling restart of two Rampart replicas under keep-alive traffic, the way Kubernetes does one:
a new replica starts and turns ready, then an old one gets SIGTERM; clients keep using their
connection until the server closes it, and new connections go only to replicas whose
/_rampart/readyz answered 200 at the last poll (an endpoints controller polling every 100 ms).

usage: rolling_drill.py RAMPART_BIN CONFIG_TEMPLATE WORKDIR
CONFIG_TEMPLATE is a gateway.json listening on 127.0.0.1:0. Prints one JSON summary line:
{"requests", "failures", "failure_samples", "by_kind", "exit_codes", "replicas", "drain_logs"}.
Bounded: at most about 60 s, all traffic on 127.0.0.1, every child killed at the end."""
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

binary, template, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
stats = {"requests": 0, "failures": 0, "failure_samples": [], "by_kind": {}}
ready = set()          # ports the endpoints controller believes ready
replicas = {}          # port -> Popen
logs = {}              # port -> list of lines
stop = threading.Event()


def start_replica(n):
    path = os.path.join(workdir, f"gateway-{n}.json")
    with open(path, "w") as f:
        f.write(open(template).read())
    p = subprocess.Popen([binary, "serve", "--config", path], cwd=workdir, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines = []
    port_box = []

    def pump():
        for line in p.stdout:
            lines.append(line.rstrip("\n"))
            if not port_box and "rampart listening" in line:
                port_box.append(int(json.loads(line)["listen"].rsplit(":", 1)[1]))
    threading.Thread(target=pump, daemon=True).start()
    deadline = time.time() + 30
    while not port_box:
        if time.time() > deadline or p.poll() is not None:
            raise SystemExit(f"replica {n} did not start: {lines}")
        time.sleep(0.02)
    port = port_box[0]
    replicas[port] = p
    logs[port] = lines
    return port


def controller():
    """The endpoints controller: readiness decides where new connections go."""
    while not stop.is_set():
        for port, p in list(replicas.items()):
            ok = False
            if p.poll() is None:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/_rampart/readyz")
                    ok = c.getresponse().status == 200
                    c.close()
                except OSError:
                    ok = False
            with lock:
                (ready.add if ok else ready.discard)(port)
        time.sleep(0.1)


def record(kind, ok, detail=""):
    with lock:
        stats["requests"] += 1
        stats["by_kind"][kind] = stats["by_kind"].get(kind, 0) + 1
        if not ok:
            stats["failures"] += 1
            if len(stats["failure_samples"]) < 10:
                stats["failure_samples"].append(f"{kind}: {detail}")


def client(kind, path, pause):
    """One keep-alive connection at a time, reused until the server says Connection: close."""
    conn = None
    while not stop.is_set():
        if conn is None:
            with lock:
                choices = sorted(ready)
            if not choices:
                time.sleep(0.02)
                continue
            conn = http.client.HTTPConnection("127.0.0.1", random.choice(choices), timeout=20)
        try:
            conn.request("GET", path, headers={"X-User-Id": kind})
            r = conn.getresponse()
            body = r.read()
            ok = r.status == 200 and (kind != "stream" or b"\"n\":5" in body)
            record(kind, ok, f"status {r.status} {body[:120]!r}")
            if r.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            record(kind, False, repr(e))
            conn.close()
            conn = None
        time.sleep(pause)
    if conn is not None:
        conn.close()


try:
    old = [start_replica(0), start_replica(1)]
    threading.Thread(target=controller, daemon=True).start()
    deadline = time.time() + 20
    while len(ready) < 2:
        if time.time() > deadline:
            raise SystemExit("replicas never turned ready")
        time.sleep(0.02)
    clients = [threading.Thread(target=client, args=a, daemon=True) for a in [
        ("fast", "/echo/drill", 0.005), ("fast", "/echo/drill", 0.005), ("fast", "/echo/drill", 0.01),
        ("idle", "/echo/idle", 1.0),                      # a keep-alive client that is mostly idle
        ("slow", "/slow?ms=1500", 0.0),                   # in flight when the listener closes
        ("stream", "/sse?events=5&gap_ms=400", 0.0),      # a 2 s stream crossing the stop
    ]]
    for t in clients:
        t.start()
    time.sleep(1.5)
    exit_codes = []
    for n, port in enumerate(old, start=2):
        fresh = start_replica(n)
        deadline = time.time() + 20
        while fresh not in ready:
            if time.time() > deadline:
                raise SystemExit("new replica never turned ready")
            time.sleep(0.02)
        replicas[port].send_signal(signal.SIGTERM)
        exit_codes.append(replicas[port].wait(timeout=40))
    time.sleep(1.5)
    stop.set()
    for t in clients:
        t.join(timeout=30)
    drain_logs = [l for port in old for l in logs[port] if "drain" in l or "SIGTERM" in l or "stopped accepting" in l]
    print(json.dumps({**stats, "exit_codes": exit_codes, "replicas": len(replicas), "drain_logs": drain_logs}))
finally:
    stop.set()
    for p in replicas.values():
        if p.poll() is None:
            p.kill()
