#!/usr/bin/env python3
"""The client of bench/websocket.sh, on raw sockets (standard library only, so the client costs
little per message and the proxy is what is measured).

  throughput PORT CONNS SECONDS SIZE WINDOW  opens CONNS sockets to /ws/echo; each sends WINDOW
      masked binary messages of SIZE bytes in one write, waits for their echoes (counted by
      bytes: an echo is the payload behind a 2- or 4-byte header), and repeats for SECONDS.
      Prints `messages M seconds S rate R`.
  hold PORT N  opens N sockets (at most 200 handshakes at a time), checks one echo on each,
      prints `open OK failed BAD`, and holds them until SIGTERM or stdin closes.
"""
import asyncio
import base64
import os
import signal
import sys
import time

MASK = b"\x01\x02\x03\x04"


def frame(payload: bytes) -> bytes:
    n = len(payload)
    head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + MASK + bytes(b ^ MASK[i & 3] for i, b in enumerate(payload))


async def handshake(port: int):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return reader, writer


async def throughput(port, conns, seconds, size, window):
    burst = frame(b"m" * size) * window
    echo_bytes = window * (size + (2 if size < 126 else 4))
    counts = [0] * conns
    deadline = time.monotonic() + seconds

    async def one(i, reader, writer):
        while time.monotonic() < deadline:
            writer.write(burst)
            got = 0
            while got < echo_bytes:
                data = await reader.read(1 << 16)
                if not data:
                    raise RuntimeError("closed")
                got += len(data)
            counts[i] += window

    sockets = [await handshake(port) for _ in range(conns)]
    start = time.monotonic()
    await asyncio.gather(*(one(i, r, w) for i, (r, w) in enumerate(sockets)))
    elapsed = time.monotonic() - start
    total = sum(counts)
    print(f"messages {total} seconds {elapsed:.2f} rate {total / elapsed:.0f}", flush=True)
    for _, w in sockets:
        w.close()


async def hold(port, n):
    gate = asyncio.Semaphore(200)
    sockets, failed = [], 0

    async def open_one():
        nonlocal failed
        async with gate:
            try:
                r, w = await handshake(port)
                w.write(frame(b"hi"))
                echo = await asyncio.wait_for(r.readexactly(4), 30)
                if echo != b"\x82\x02hi":
                    raise RuntimeError(repr(echo))
                sockets.append((r, w))
            except Exception as e:  # counted: the summary line says how many failed
                failed += 1
                if failed == 1:
                    print(f"first failure: {e!r}", file=sys.stderr, flush=True)

    await asyncio.gather(*(open_one() for _ in range(n)))
    print(f"open {len(sockets)} failed {failed}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    for _, w in sockets:
        w.close()


def main():
    mode, port, *args = sys.argv[1:]
    if mode == "throughput":
        asyncio.run(throughput(int(port), int(args[0]), float(args[1]), int(args[2]), int(args[3])))
    else:
        asyncio.run(hold(int(port), int(args[0])))


if __name__ == "__main__":
    main()
