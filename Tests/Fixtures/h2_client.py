"""HTTP/2 client scenarios for the integration tests, with the `h2` package (PyPI: h2, hpack,
hyperframe), a client that shares no code with nghttp2 or Rampart. Prior-knowledge h2c, or TLS with
ALPN h2 when the port is given as `tls:PORT`. Usage: h2_client.py <scenario> <port> [args...]; each
prints `RESULT <json>` with what a user or an attacker would see."""
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import hpack
from hyperframe.frame import ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def result(obj):
    print("RESULT " + json.dumps(obj), flush=True)


def connect(port_arg):
    tls = port_arg.startswith("tls:")
    port = int(port_arg.split(":")[-1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        if sock.selected_alpn_protocol() != "h2":
            raise SystemExit("ALPN chose " + str(sock.selected_alpn_protocol()))
    return sock, f"127.0.0.1:{port}", "https" if tls else "http"


def client(sock):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return conn


def pump(sock, conn, done, ack=lambda sid: True, seconds=20):
    """Reads events until done(state) says so; DATA is acknowledged (window reopened) only for
    streams where ack(stream_id) is true."""
    state = {"responses": {}, "goaway": None, "resets": {}}
    deadline = time.monotonic() + seconds
    while not done(state) and time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            state["eof"] = True
            break
        for e in conn.receive_data(data):
            r = state["responses"].setdefault(getattr(e, "stream_id", 0), {"headers": {}, "body": b"", "ended": False})
            if isinstance(e, h2.events.ResponseReceived):
                r["headers"] = dict(e.headers)
            elif isinstance(e, h2.events.DataReceived):
                r["body"] += e.data
                if ack(e.stream_id):
                    conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                elif e.flow_controlled_length:
                    # A slow reader of this stream only: the connection's window reopens, the stream's stays shut.
                    conn.increment_flow_control_window(e.flow_controlled_length)
            elif isinstance(e, h2.events.StreamEnded):
                r["ended"] = True
            elif isinstance(e, h2.events.StreamReset):
                state["resets"][e.stream_id] = int(e.error_code)
            elif isinstance(e, h2.events.ConnectionTerminated):
                state["goaway"] = int(e.error_code)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return state


def requests(port_arg):
    """Concurrent GETs, a POST with a body, an SSE stream, and a 404 on one connection."""
    sock, authority, scheme = connect(port_arg)
    conn = client(sock)
    base = [(":scheme", scheme), (":authority", authority)]
    ids = {}
    for i in range(5):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":path", f"/echo/{i}?q={i}")] + base + [("x-request-id", f"h2-req-{i}")], end_stream=True)
        ids[sid] = f"get{i}"
    sid = conn.get_next_available_stream_id()
    body = b"hello over h2 " * 1000
    conn.send_headers(sid, [(":method", "POST"), (":path", "/echo")] + base + [("content-type", "text/plain"),
                            ("content-length", str(len(body))), ("cookie", "a=1"), ("cookie", "b=2")])
    conn.send_data(sid, body, end_stream=True)
    ids[sid] = "post"
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":path", "/sse?n=3")] + base, end_stream=True)
    ids[sid] = "sse"
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "POST"), (":path", "/echo")] + base + [("content-length", "5000000")])
    ids[sid] = "too_large"
    sock.sendall(conn.data_to_send())
    st = pump(sock, conn, lambda s: all(s["responses"].get(i, {}).get("ended") for i in ids))
    out = {}
    for sid, name in ids.items():
        r = st["responses"].get(sid, {})
        out[name] = {"status": r.get("headers", {}).get(":status"), "headers": r.get("headers", {}),
                     "body": r.get("body", b"").decode("utf-8", "replace"), "ended": r.get("ended", False)}
    result(out)


def across_reload(port_arg):
    """One request, `FIRST`, a pause while the test reloads Rampart's config, then a second request
    on the same connection: a reload must not drop HTTP/2 connections."""
    sock, authority, scheme = connect(port_arg)
    conn = client(sock)
    base = [(":scheme", scheme), (":authority", authority)]
    statuses = []
    for i in range(2):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":path", f"/echo/reload{i}")] + base, end_stream=True)
        sock.sendall(conn.data_to_send())
        st = pump(sock, conn, lambda s: s["responses"].get(sid, {}).get("ended") or s["goaway"] is not None)
        statuses.append(st["responses"].get(sid, {}).get("headers", {}).get(":status"))
        if st["goaway"] is not None:
            break
        if i == 0:
            print("FIRST", flush=True)
            time.sleep(3)
    result({"statuses": statuses})


def slow_stream(port_arg, big_bytes):
    """Stream 1 downloads a big body that is never acknowledged (its window stays shut: a slow
    reader); meanwhile 20 small requests on the same connection must all complete."""
    sock, authority, scheme = connect(port_arg)
    conn = client(sock)
    base = [(":scheme", scheme), (":authority", authority)]
    big = conn.get_next_available_stream_id()
    conn.send_headers(big, [(":method", "GET"), (":path", f"/big?bytes={big_bytes}")] + base, end_stream=True)
    sock.sendall(conn.data_to_send())
    time.sleep(0.5)
    small = []
    for i in range(20):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":path", f"/echo/{i}")] + base, end_stream=True)
        small.append(sid)
    sock.sendall(conn.data_to_send())
    st = pump(sock, conn, lambda s: all(s["responses"].get(i, {}).get("ended") for i in small), ack=lambda sid: sid != big)
    done = sum(1 for i in small if st["responses"].get(i, {}).get("ended"))
    got = len(st["responses"].get(big, {}).get("body", b""))
    print("HOLDING", flush=True)   # the test reads Rampart's memory now
    time.sleep(4)
    result({"small_done": done, "big_received": got, "big_ended": st["responses"].get(big, {}).get("ended", False)})


def drain(port_arg, path):
    """A slow request in flight, then (after READY, while the test stops Rampart) what the client
    sees: GOAWAY without error, and the in-flight stream still answered whole. Raw frames: the h2
    package treats a GOAWAY as the end of every stream, where RFC 9113 lets those below its last
    stream id finish."""
    sock, authority, scheme = raw(port_arg)
    h = HeadersFrame(1, headers_block(authority, scheme, path)); h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
    sock.sendall(h.serialize())
    print("READY", flush=True)
    out = {"status": None, "ended": False, "body_bytes": 0, "goaway": None}
    decoder, buf, deadline = hpack.Decoder(), b"", time.monotonic() + 30
    while time.monotonic() < deadline and not (out["ended"] and out["goaway"] is not None):
        frames, buf = read_frames(sock, buf, lambda fs: True, seconds=deadline - time.monotonic())
        if not frames:
            break
        for frame in frames:
            if isinstance(frame, GoAwayFrame):
                out["goaway"] = frame.error_code
            elif isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                out["status"] = dict(decoder.decode(frame.data)).get(":status")
                out["ended"] = out["ended"] or "END_STREAM" in frame.flags
            elif frame.type == 0 and frame.stream_id == 1:   # DATA
                out["body_bytes"] += len(frame.data)
                out["ended"] = out["ended"] or "END_STREAM" in frame.flags
    result(out)


def read_frames(sock, buf, want, seconds=15):
    """Raw frames until want(frames) holds (or GOAWAY, EOF, timeout); returns (frames, rest)."""
    frames, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length = int.from_bytes(buf[:3], "big")
            frame, _ = Frame.parse_frame_header(memoryview(buf[:9]))
            frame.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            frames.append(frame)
            if want(frames) or isinstance(frame, GoAwayFrame):
                return frames, buf
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        buf += data
    return frames, buf


def ws_frame(opcode, payload):
    mask = b"\x0a\x0b\x0c\x0d"
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


def websocket(port_arg, path, origin):
    """WebSocket over HTTP/2 (RFC 8441 Extended CONNECT): the stream's status, then a text message
    echoed and a close answered, all as DATA frames of the one stream."""
    sock, authority, scheme = raw(port_arg)
    extra = [("sec-websocket-version", "13")] + ([("origin", origin)] if origin else [])
    block = hpack.Encoder().encode([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme), (":path", path),
                                    (":authority", authority)] + extra)
    h = HeadersFrame(1, block); h.flags.add("END_HEADERS")
    sock.sendall(h.serialize())
    decoder = hpack.Decoder()
    frames, buf = read_frames(sock, b"", lambda fs: any(isinstance(f, HeadersFrame) and f.stream_id == 1 for f in fs))
    heads = [f for f in frames if isinstance(f, HeadersFrame) and f.stream_id == 1]
    status = dict(decoder.decode(heads[0].data)).get(":status") if heads else None
    out = {"status": status}
    if status == "200":
        sock.sendall(DataFrame(1, ws_frame(1, b"hello over h2")).serialize())
        frames, buf = read_frames(sock, buf, lambda fs: any(f.type == 0 and b"hello over h2" in f.data for f in fs))
        out["echo"] = any(f.type == 0 and f.data == b"\x81\x0dhello over h2" for f in frames)
        sock.sendall(DataFrame(1, ws_frame(8, b"\x03\xe8")).serialize())
        frames, buf = read_frames(sock, buf, lambda fs: any(f.type == 0 and "END_STREAM" in f.flags for f in fs) or
                                  any(isinstance(f, RstStreamFrame) for f in fs))
        closes = [f.data for f in frames if f.type == 0 and f.data[:1] == b"\x88"]
        out["close_code"] = int.from_bytes(closes[0][2:4], "big") if closes else None
        out["ended"] = any(f.type == 0 and "END_STREAM" in f.flags for f in frames)
    elif heads and "END_STREAM" not in heads[0].flags:
        frames, buf = read_frames(sock, buf, lambda fs: any(f.type == 0 and "END_STREAM" in f.flags for f in fs))
        out["body"] = b"".join(f.data for f in frames if f.type == 0).decode("utf-8", "replace")
    result(out)


def over_limit(port_arg, count):
    """A client that ignores SETTINGS_MAX_CONCURRENT_STREAMS: `count` slow requests at once; how
    many are answered and how many refused (RST_STREAM REFUSED_STREAM, which clients retry)."""
    count = int(count)
    sock, authority, scheme = raw(port_arg)
    enc = hpack.Encoder()
    out = b""
    for i in range(count):
        h = HeadersFrame(1 + 2 * i, enc.encode([(":method", "GET"), (":path", "/slow?ms=300"), (":scheme", scheme), (":authority", authority)]))
        h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
        out += h.serialize()
    sock.sendall(out)
    done = lambda fs: len({f.stream_id for f in fs if isinstance(f, RstStreamFrame) or (f.type == 0 and "END_STREAM" in f.flags)}) >= count
    frames, _ = read_frames(sock, b"", done, seconds=20)
    refused = {f.stream_id for f in frames if isinstance(f, RstStreamFrame) and f.error_code == 7}
    answered = {f.stream_id for f in frames if f.type == 0 and "END_STREAM" in f.flags}
    result({"refused": len(refused), "answered": len(answered), "goaway": next((f.error_code for f in frames if isinstance(f, GoAwayFrame)), None)})


def stall(port_arg, what):
    """A slow client: a header block begun and never finished (`head`), or a POST that sends 10
    of its 100 body bytes and stops (`body`). Reports how Rampart ended it and after how long."""
    sock, authority, scheme = raw(port_arg)
    start = time.monotonic()
    block = hpack.Encoder().encode([(":method", "POST"), (":path", "/echo"), (":scheme", scheme), (":authority", authority),
                                    ("content-length", "100")])
    if what == "head":
        sock.sendall(HeadersFrame(1, block[:5]).serialize())   # no END_HEADERS: CONTINUATION should follow
    else:
        h = HeadersFrame(1, block); h.flags.add("END_HEADERS")
        sock.sendall(h.serialize() + DataFrame(1, b"0123456789").serialize())
    decoder = hpack.Decoder()
    ended = lambda fs: any(isinstance(f, GoAwayFrame) or (f.type == 0 and "END_STREAM" in f.flags) for f in fs)
    frames, _ = read_frames(sock, b"", ended, seconds=30)
    heads = [f for f in frames if isinstance(f, HeadersFrame) and f.stream_id == 1]
    result({"seconds": round(time.monotonic() - start, 2),
            "status": dict(decoder.decode(heads[0].data)).get(":status") if heads else None,
            "body": b"".join(f.data for f in frames if f.type == 0).decode("utf-8", "replace"),
            "goaway": next((f.error_code for f in frames if isinstance(f, GoAwayFrame)), None)})


def early_answer(port_arg):
    """A POST over the body limit that keeps uploading after Rampart's 413: the client is told to
    stop (RST_STREAM NO_ERROR) instead of being granted window for ever."""
    sock, authority, scheme = raw(port_arg)
    h = HeadersFrame(1, hpack.Encoder().encode([(":method", "POST"), (":path", "/echo"), (":scheme", scheme),
                                                (":authority", authority), ("content-type", "text/plain")]))
    h.flags.add("END_HEADERS")
    sock.sendall(h.serialize())
    chunk, sent, frames, buf = DataFrame(1, b"x" * 16000).serialize(), 0, [], b""
    sock.settimeout(0.01)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(isinstance(f, RstStreamFrame) for f in frames) and sent < 8_000_000:
        try:
            sock.sendall(chunk)
            sent += 16000
        except (BrokenPipeError, ConnectionResetError):
            break
        except socket.timeout:
            pass
        more, buf = read_frames(sock, buf, lambda fs: True, seconds=0.01)
        frames += more
    decoder = hpack.Decoder()
    heads = [f for f in frames if isinstance(f, HeadersFrame) and f.stream_id == 1]
    rst = [f.error_code for f in frames if isinstance(f, RstStreamFrame) and f.stream_id == 1]
    result({"status": dict(decoder.decode(heads[0].data)).get(":status") if heads else None, "reset": rst[0] if rst else None,
            "sent_bytes": sent})


def raw(port_arg):
    sock, authority, scheme = connect(port_arg)
    sock.sendall(PREFACE + SettingsFrame(0).serialize())
    return sock, authority, scheme


def until_goaway(sock, seconds=15):
    """Reads raw frames until GOAWAY (its error code) or the connection closes."""
    buf, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            frame, _ = Frame.parse_frame_header(memoryview(buf[:9]))
            frame.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            if isinstance(frame, GoAwayFrame):
                return {"goaway": frame.error_code, "closed": False}
        try:
            data = sock.recv(65536)
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            return {"goaway": None, "closed": True}
        if not data:
            return {"goaway": None, "closed": True}
        buf += data
    return {"goaway": None, "closed": False, "timeout": True}


def headers_block(authority, scheme, path="/echo", extra=()):
    return hpack.Encoder().encode([(":method", "GET"), (":path", path), (":scheme", scheme), (":authority", authority)] + list(extra))


def abuse(port_arg, kind, count):
    count = int(count)
    sock, authority, scheme = raw(port_arg)
    out = b""
    if kind == "rapid-reset":
        enc = hpack.Encoder()
        for i in range(count):
            sid = 1 + 2 * i
            block = enc.encode([(":method", "GET"), (":path", "/slow?ms=2000"), (":scheme", scheme), (":authority", authority)])
            h = HeadersFrame(sid, block); h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
            out += h.serialize() + RstStreamFrame(sid, error_code=8).serialize()
    elif kind == "continuation":
        block = headers_block(authority, scheme)
        h = HeadersFrame(1, block[:4]); h.flags.add("END_STREAM")
        out += h.serialize()
        rest = block[4:] + hpack.Encoder().encode([("x-pad", "a")]) * 0
        for i in range(count):
            out += ContinuationFrame(1, b"").serialize()
        c = ContinuationFrame(1, rest); c.flags.add("END_HEADERS")
        out += c.serialize()
    elif kind == "ping-flood":
        out = b"".join(PingFrame(0, opaque_data=i.to_bytes(8, "big")).serialize() for i in range(count))
    elif kind == "settings-flood":
        out = b"".join(SettingsFrame(0, settings={4: 65535}).serialize() for _ in range(count))
    elif kind == "header-list":
        block = headers_block(authority, scheme, extra=[("x-big", "v" * count)])
        h = HeadersFrame(1, block); h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
        out = h.serialize()
    elif kind == "hpack-table":
        # A dynamic table larger than the 4096 bytes SETTINGS allow (RFC 7541 §4.2): COMPRESSION_ERROR.
        enc = hpack.Encoder()
        enc.header_table_size = count
        h = HeadersFrame(1, enc.encode([(":method", "GET"), (":path", "/echo"), (":scheme", scheme), (":authority", authority)]))
        h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
        out = h.serialize()
    elif kind == "hpack-bomb":
        # One 4000-byte field enters the dynamic table, then is referenced by index again and
        # again: a few bytes on the wire decode to count x 4000 bytes of headers.
        enc = hpack.Encoder()
        block = enc.encode([(":method", "GET"), (":path", "/echo"), (":scheme", scheme), (":authority", authority),
                            ("x-bomb", "b" * 4000)])
        again = enc.encode([("x-bomb", "b" * 4000)])   # now an index into the table: 1 or 2 bytes
        h = HeadersFrame(1, block + again * count); h.flags.add("END_HEADERS"); h.flags.add("END_STREAM")
        out = h.serialize()
    sent = time.monotonic()
    try:
        sock.sendall(out)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    r = until_goaway(sock)
    r["seconds"] = round(time.monotonic() - sent, 2)
    r["wire_bytes"] = len(out)
    result(r)


def main():
    name, port, *args = sys.argv[1:]
    if name == "requests":
        requests(port)
    elif name == "across-reload":
        across_reload(port)
    elif name == "slow-stream":
        slow_stream(port, args[0])
    elif name == "websocket":
        websocket(port, args[0], args[1] if len(args) > 1 else "")
    elif name == "over-limit":
        over_limit(port, args[0])
    elif name == "stall":
        stall(port, args[0])
    elif name == "early-answer":
        early_answer(port)
    elif name == "drain":
        drain(port, args[0])
    elif name == "abuse":
        abuse(port, args[0], args[1])
    else:
        sys.exit("unknown scenario " + name)


if __name__ == "__main__":
    main()
