#!/usr/bin/env python3
"""The client side of bench/overload.sh: many sockets in one process, with selectors (epoll).

hold PORT --idle N --loris M [--hold S]
    Opens N idle keep-alive connections (each sends one complete `GET /` and reads its whole
    response, then stays open and silent) and M slow-loris sockets (each sends a request head one
    byte every --loris-interval seconds and never finishes it). Prints
        idle open OK failed BAD seconds T
        loris open OK failed BAD
        ready
    then holds them until SIGTERM/SIGINT or S seconds. A slow-loris socket the proxy closes is
    counted (with the status it answered, if any, and how long it had lived) and replaced by a new
    one, so M stay open as an attacker would keep them; an idle one the proxy closes is counted.
    At the end it prints
        idle held H closed_by_proxy C held_s S
        loris closed_by_proxy N answered STATUS:COUNT,... silent K median_life_s L reopened R
    and closes everything.

exhaust PORT [--pids P,Q] [--probe-seconds 10] [--probe-timeout 3] [--probe-rate 10]
    Opens keep-alive connections one after the other, each getting one `GET /` answered, until a
    new connection is no longer served (no 200 within --fill-timeout seconds: an error status,
    closed, or nothing) and holds them. Then for --probe-seconds starts --probe-rate new
    connections a second, each sending `GET /` and waiting at most --probe-timeout seconds, and
    classifies them: answered (by status), closed without an answer, reset/refused at connect, or
    hung until the timeout. Halfway it also sends a request on a few held connections (does the
    proxy keep serving what it holds?). The CPU time the processes --pids used during the probe
    window is read from /proc/PID/stat (utime + stime) and printed as a percentage of one core.
    Then it closes the held connections and polls until a new request is served again. Prints
        held N stop REASON
        probe attempts A answered STATUS:COUNT,... closed C reset R hung H
        held_check served K of M outcomes STATUS:COUNT,...
        held_open K of N      (held connections the proxy has not closed by the end)
        cpu_pct P
        recovered_s S          (or `recovered_s never`)

Standard library only. The process raises its own RLIMIT_NOFILE to the hard limit.
"""
import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import statistics
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: overload-drill\r\n\r\n"
# A head that never ends: one byte of it every few seconds, then 'a's of a header value forever.
LORIS_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-loris\r\nX-Slow: "


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse_response(buf):
    """(status or None, complete): status once the status line is in; complete once the whole
    response (Content-Length or chunked framing) is."""
    head_end = buf.find(b"\r\n\r\n")
    status = None
    line_end = buf.find(b"\r\n")
    if line_end > 0:
        parts = buf[:line_end].split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            status = int(parts[1])
    if head_end < 0:
        return status, False
    head = buf[:head_end].lower()
    body = buf[head_end + 4:]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return status, len(body) >= int(value.strip() or 0)
        if name.strip() == b"transfer-encoding" and b"chunked" in value:
            return status, body.endswith(b"0\r\n\r\n")
    return status, status is not None and (status in (204, 304) or 100 <= status < 200)


def keeps_alive(buf):
    head = buf[:buf.find(b"\r\n\r\n")].lower()
    return b"\r\nconnection: close" not in head


class Conn:
    __slots__ = ("sock", "kind", "state", "buf", "t0", "sent", "next_at", "deadline")

    def __init__(self, sock, kind, now):
        self.sock, self.kind, self.state, self.buf = sock, kind, "connecting", b""
        self.t0, self.sent, self.next_at, self.deadline = now, 0, 0.0, 0.0


class Pool:
    """Sockets on one selector; `on_event` moves each through its kind's states."""

    def __init__(self, port):
        self.port, self.sel = port, selectors.DefaultSelector()

    def connect(self, kind, deadline_s=30.0):
        now = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(s, kind, now)
        c.deadline = now + deadline_s
        err = s.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            c.state = "connect_error"
            return c
        self.sel.register(s, selectors.EVENT_WRITE, c)
        return c

    def close(self, c):
        if c.sock.fileno() >= 0:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()

    def watch_read(self, c):
        self.sel.modify(c.sock, selectors.EVENT_READ, c)

    @staticmethod
    def recv_all(c):
        """Reads what is there; returns False at EOF or on an error (the peer closed)."""
        while True:
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if not data:
                return False
            c.buf += data

    @staticmethod
    def connected(c):
        return c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0

    def send_request(self, c):
        try:
            c.sock.send(REQUEST)
        except OSError:
            return False
        c.state = "reading"
        self.watch_read(c)
        return True


# ---------------------------------------------------------------------------------------------
def hold(args):
    pool = Pool(args.port)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))

    idle_ok, idle_bad, idle_closed = [], [], 0
    loris_open, loris_bad = [], 0
    loris_answers, loris_silent, loris_lives, reopened = {}, 0, [], 0
    pending_idle = args.idle
    in_flight = 0
    t_start = time.monotonic()

    def start_idle():
        nonlocal pending_idle, in_flight
        while pending_idle and in_flight < args.concurrency:
            pending_idle -= 1
            c = pool.connect("idle")
            if c.state == "connect_error":
                idle_bad.append("connect")
            else:
                in_flight += 1

    def open_loris(now):
        nonlocal loris_bad
        c = pool.connect("loris")
        if c.state == "connect_error":
            loris_bad += 1
            return None
        # Spread the sockets' byte times over one interval so the trickle is even.
        c.next_at = now + args.loris_interval * (len(loris_open) % 100) / 100
        loris_open.append(c)
        return c

    def loris_closed(c, now):
        nonlocal loris_silent, reopened
        Pool.recv_all(c)
        status, _ = parse_response(c.buf)
        if status is None:
            loris_silent += 1
        else:
            loris_answers[status] = loris_answers.get(status, 0) + 1
        loris_lives.append(now - c.t0)
        pool.close(c)
        loris_open.remove(c)
        if args.reopen and not stop:
            if open_loris(now):
                reopened += 1

    def idle_event(c, now):
        nonlocal in_flight, idle_closed
        if c.state == "connecting":
            if not Pool.connected(c) or not pool.send_request(c):
                pool.close(c); idle_bad.append("connect"); in_flight -= 1
            return
        alive = Pool.recv_all(c)
        if c.state == "reading":
            status, done = parse_response(c.buf)
            if done and status == 200 and keeps_alive(c.buf) and alive:
                c.state, c.buf = "idle", b""
                idle_ok.append(c); in_flight -= 1
            elif done or not alive:
                pool.close(c); idle_bad.append(str(status)); in_flight -= 1
        elif not alive:         # an idle one the proxy closed
            idle_closed += 1
            pool.close(c)
            c.state = "closed"

    def loris_event(c, now):
        if c.state == "connecting":
            if not Pool.connected(c):
                pool.close(c); loris_open.remove(c)
                return
            c.state = "trickling"
            pool.watch_read(c)
            return
        if not Pool.recv_all(c) or c.buf:       # closed, or answered (a 408, say) and closing
            loris_closed(c, now)

    def trickle(now):
        for c in list(loris_open):
            if c.state == "trickling" and c.next_at <= now:
                byte = LORIS_HEAD[c.sent:c.sent + 1] or b"a"
                try:
                    c.sock.send(byte)
                    c.sent += 1
                except BlockingIOError:
                    pass
                except OSError:
                    loris_closed(c, now)
                    continue
                c.next_at = now + args.loris_interval

    def timeouts(now):
        nonlocal in_flight
        for key in list(pool.sel.get_map().values()):
            c = key.data
            if c.kind == "idle" and c.state in ("connecting", "reading") and now > c.deadline:
                pool.close(c); idle_bad.append("timeout"); in_flight -= 1

    def turn(timeout):
        now = time.monotonic()
        for key, _ in pool.sel.select(timeout):
            c = key.data
            (idle_event if c.kind == "idle" else loris_event)(c, now)

    # 1. idle keep-alive connections, at most --concurrency being opened at once
    start_idle()
    last_sweep = time.monotonic()
    while (pending_idle or in_flight) and not stop:
        turn(0.1)
        start_idle()
        now = time.monotonic()
        if now - last_sweep > 1:
            timeouts(now); last_sweep = now
    print(f"idle open {len(idle_ok)} failed {len(idle_bad)} seconds {time.monotonic() - t_start:.2f}", flush=True)
    if idle_bad:
        kinds = {}
        for b in idle_bad:
            kinds[b] = kinds.get(b, 0) + 1
        print(f"idle failures {kinds}", file=sys.stderr, flush=True)

    # 2. slow-loris sockets: all started, then wait until each has connected (or failed)
    now = time.monotonic()
    for _ in range(args.loris):
        open_loris(now)
    deadline = time.monotonic() + 30
    while any(c.state == "connecting" for c in loris_open) and time.monotonic() < deadline and not stop:
        turn(0.1)
    trickle(time.monotonic())
    print(f"loris open {sum(c.state == 'trickling' for c in loris_open)} failed {args.loris - len(loris_open) + loris_bad}", flush=True)
    print("ready", flush=True)

    # 3. hold: trickle, replace closed slow-loris sockets, count idle ones closed
    t_ready = time.monotonic()
    end = t_ready + args.hold
    while not stop and time.monotonic() < end:
        turn(0.2)
        trickle(time.monotonic())

    held = sum(c.state == "idle" for c in idle_ok)
    print(f"idle held {held} closed_by_proxy {idle_closed} held_s {time.monotonic() - t_ready:.1f}", flush=True)
    answered = ",".join(f"{k}:{v}" for k, v in sorted(loris_answers.items())) or "-"
    life = f"{statistics.median(loris_lives):.1f}" if loris_lives else "-"
    print(f"loris closed_by_proxy {len(loris_lives)} answered {answered} silent {loris_silent} "
          f"median_life_s {life} reopened {reopened}", flush=True)
    for key in list(pool.sel.get_map().values()):
        pool.close(key.data)


# ---------------------------------------------------------------------------------------------
def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])        # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total


def one_request(c, timeout):
    """Runs one GET on connection c (connected, or with a connect under way) and waits for it:
    'status:N', 'closed' (EOF or reset before a status line), 'reset' (connect refused) or 'hung'."""
    end = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    try:
        if c.state == "connecting":
            sel.register(c.sock, selectors.EVENT_WRITE)
            if not sel.select(max(0, end - time.monotonic())):
                return "hung"
            sel.unregister(c.sock)
            if not Pool.connected(c):
                return "reset"
            c.state = "open"
        c.buf = b""
        try:
            c.sock.send(REQUEST)
        except OSError:
            return "closed"
        sel.register(c.sock, selectors.EVENT_READ)
        while True:
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                return "hung"
            alive = Pool.recv_all(c)
            status, done = parse_response(c.buf)
            if status is not None and (done or not alive):
                return f"status:{status}"
            if not alive:
                return "closed"
    finally:
        sel.close()


def count_open(conns):
    """How many of these connections the proxy has not closed (a peek sees no EOF)."""
    n = 0
    for c in conns:
        try:
            n += c.sock.recv(1, socket.MSG_PEEK) != b""
        except (BlockingIOError, InterruptedError):
            n += 1
        except OSError:
            pass
    return n


def exhaust(args):
    pool = Pool(args.port)
    pids = [int(p) for p in args.pids.split(",") if p] if args.pids else []
    held, stop_reason = [], "max_hold"
    outcomes, probes = {}, []

    # 1. fill: one connection after the other, each with one request answered, until refused
    while len(held) < args.max_hold:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        c = Conn(s, "held", time.monotonic())
        err = s.connect_ex(("127.0.0.1", args.port))
        if err not in (0, errno.EINPROGRESS):
            s.close(); stop_reason = f"connect_error:{errno.errorcode.get(err, err)}"
            break
        r = one_request(c, args.fill_timeout)
        if r == "status:200" and keeps_alive(c.buf):
            held.append(c)
            continue
        s.close()
        stop_reason = r
        break
    print(f"held {len(held)} stop {stop_reason}", flush=True)

    # 2. probe: --probe-rate new connections a second for --probe-seconds

    def settle(c, outcome):
        if c.kind == "heldcheck":
            check_outcomes.append(outcome)
            pool.sel.unregister(c.sock)
            c.state = "done"
            next_check(time.monotonic())
            return
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        pool.close(c)
        c.state = "done"

    # Does the proxy keep serving what it holds? Halfway through the window, one request on each
    # of the last few held connections, one after the other (so no extra upstream socket is needed).
    check_queue = held[-min(5, len(held)):] if held else []
    n_checked = len(check_queue)
    check_outcomes = []

    def next_check(now):
        while check_queue:
            h = check_queue.pop(0)
            h.kind, h.state, h.buf, h.deadline = "heldcheck", "reading", b"", now + args.probe_timeout
            try:
                h.sock.send(REQUEST)
                pool.sel.register(h.sock, selectors.EVENT_READ, h)
                return
            except OSError:
                h.state = "done"
                check_outcomes.append("closed")

    checks_started = False
    t0 = time.monotonic()
    ticks0 = cpu_ticks(pids)
    window_end = t0 + args.probe_seconds
    next_probe = t0
    cpu_pct = None
    while True:
        now = time.monotonic()
        if now < window_end and now >= next_probe:
            c = pool.connect("probe", args.probe_timeout)
            probes.append(c)
            if c.state == "connect_error":
                outcomes["reset"] = outcomes.get("reset", 0) + 1
                c.state = "done"
            next_probe += 1.0 / args.probe_rate
        if not checks_started and now >= t0 + args.probe_seconds / 2:
            checks_started = True
            next_check(now)
        if cpu_pct is None and now >= window_end:
            cpu_pct = (cpu_ticks(pids) - ticks0) / os.sysconf("SC_CLK_TCK") / (now - t0) * 100
        for key, _ in pool.sel.select(0.02):
            c = key.data
            if c.state == "connecting":
                if not Pool.connected(c):
                    settle(c, "reset"); continue
                if not pool.send_request(c):
                    settle(c, "closed")
                continue
            alive = Pool.recv_all(c)
            status, done = parse_response(c.buf)
            if status is not None and (done or not alive or c.kind == "probe"):
                settle(c, f"status:{status}")
            elif not alive:
                settle(c, "closed")
        now = time.monotonic()
        for c in probes + held:
            if c.state in ("connecting", "reading") and now > c.deadline:
                settle(c, "hung")
        if (now >= window_end and cpu_pct is not None and checks_started
                and len(check_outcomes) == n_checked and all(c.state == "done" for c in probes)):
            break
    answered = {k.split(":")[1]: v for k, v in outcomes.items() if k.startswith("status:")}
    ans = ",".join(f"{k}:{v}" for k, v in sorted(answered.items())) or "-"
    print(f"probe attempts {len(probes)} answered {ans} closed {outcomes.get('closed', 0)} "
          f"reset {outcomes.get('reset', 0)} hung {outcomes.get('hung', 0)}", flush=True)
    checked = {}
    for o in check_outcomes:
        checked[o.replace("status:", "")] = checked.get(o.replace("status:", ""), 0) + 1
    print(f"held_check served {check_outcomes.count('status:200')} of {n_checked} "
          f"outcomes {','.join(f'{k}:{v}' for k, v in sorted(checked.items())) or '-'}", flush=True)
    print(f"held_open {count_open(held)} of {len(held)}", flush=True)
    print(f"cpu_pct {cpu_pct:.0f}" if pids else "cpu_pct -", flush=True)

    # 3. release what is held; poll until a new connection is served again
    for c in held:
        c.sock.close()
    t1 = time.monotonic()
    recovered = None
    while time.monotonic() - t1 < args.recover_timeout:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        c = Conn(s, "check", time.monotonic())
        s.connect_ex(("127.0.0.1", args.port))
        r = one_request(c, 1.0)
        s.close()
        if r == "status:200":
            recovered = time.monotonic() - t1
            break
        time.sleep(0.1)
    print(f"recovered_s {recovered:.2f}" if recovered is not None else "recovered_s never", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    h = sub.add_parser("hold")
    h.add_argument("port", type=int)
    h.add_argument("--idle", type=int, default=10000)
    h.add_argument("--loris", type=int, default=1000)
    h.add_argument("--concurrency", type=int, default=200)
    h.add_argument("--loris-interval", type=float, default=3.0)
    h.add_argument("--hold", type=float, default=600.0)
    h.add_argument("--no-reopen", dest="reopen", action="store_false")
    e = sub.add_parser("exhaust")
    e.add_argument("port", type=int)
    e.add_argument("--pids", default="")
    e.add_argument("--max-hold", type=int, default=1000)
    e.add_argument("--fill-timeout", type=float, default=2.0)
    e.add_argument("--probe-seconds", type=float, default=10.0)
    e.add_argument("--probe-timeout", type=float, default=3.0)
    e.add_argument("--probe-rate", type=float, default=10.0)
    e.add_argument("--recover-timeout", type=float, default=15.0)
    args = ap.parse_args()
    limit = raise_nofile()
    need = args.idle + args.loris + 100 if args.mode == "hold" else args.max_hold + 200
    if limit < need:
        sys.exit(f"RLIMIT_NOFILE is {limit}, {need} needed")
    (hold if args.mode == "hold" else exhaust)(args)


if __name__ == "__main__":
    main()
