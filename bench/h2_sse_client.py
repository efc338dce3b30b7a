#!/usr/bin/env python3
"""The SSE client of bench/http2.sh, over HTTP/2 prior knowledge on raw sockets (h2's HPACK via
the `hpack` package when present, else a fixed literal block): CONNS connections each open STREAMS
streams `GET /`, each read until its first event (`data: hello`), then all are held until SIGTERM.
Prints `open OK failed BAD`. Usage: h2_sse_client.py PORT CONNS STREAMS"""
import asyncio
import signal
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + sid.to_bytes(4, "big") + payload


def literal(name, value):
    """An HPACK literal header field without indexing, new name (RFC 7541 §6.2.2), short strings."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


async def one(port, streams, opened):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    settings = frame(4, 0, 0, (4).to_bytes(2, "big") + (1 << 20).to_bytes(4, "big"))   # a 1 MiB stream window
    block = (literal(b":method", b"GET") + literal(b":path", b"/") + literal(b":scheme", b"http")
             + literal(b":authority", f"127.0.0.1:{port}".encode()))
    out = PREFACE + settings + frame(8, 0, 0, (1 << 24).to_bytes(4, "big"))   # and a large connection window
    for i in range(streams):
        out += frame(1, 0x5, 1 + 2 * i, block)   # END_STREAM | END_HEADERS
    writer.write(out)
    seen, buf = set(), b""
    while len(seen) < streams:
        data = await asyncio.wait_for(reader.read(65536), 60)
        if not data:
            raise RuntimeError("closed")
        buf += data
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            n = int.from_bytes(buf[:3], "big"); kind, flags, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload, buf = buf[9:9 + n], buf[9 + n:]
            if kind == 4 and not flags & 1:
                writer.write(frame(4, 1, 0))   # SETTINGS ACK
            elif kind == 0 and b"hello" in payload:
                seen.add(sid)
            elif kind == 3:
                raise RuntimeError(f"stream {sid} reset")
    opened.append(streams)
    return writer


async def main():
    port, conns, streams = map(int, sys.argv[1:4])
    opened, writers, failed = [], [], 0
    results = await asyncio.gather(*(one(port, streams, opened) for _ in range(conns)), return_exceptions=True)
    for r in results:
        if isinstance(r, Exception):
            failed += 1
            if failed == 1:
                print(f"first failure: {r!r}", file=sys.stderr, flush=True)
        else:
            writers.append(r)
    print(f"open {sum(opened)} failed {failed * streams}", flush=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(s, stop.set)
    await stop.wait()
    for w in writers:
        w.close()


asyncio.run(main())
