#!/usr/bin/env python3
"""The client of bench/sse_memory.sh: opens N concurrent SSE streams and holds them open.

Each connection sends `GET / HTTP/1.1` and reads until the first event (`data: hello`) arrives,
then goes on reading to notice a proxy cutting the stream; at most CONCURRENCY connections are
being opened at any time. When every stream is open (or has
failed) it prints `open OK failed BAD` and holds the open ones until SIGTERM/SIGINT arrives, HOLD
seconds pass, or stdin gets a line or closes (only when stdin is a pipe or a terminal: `< /dev/null`
is not watched); then it closes them all, printing `closed OK cut CUT` (CUT: streams the proxy had
closed by then), and exits.
Standard library only.

Usage: python3 bench/sse_client.py PORT N [--concurrency 200] [--hold 120] [--path /]
"""
import argparse
import asyncio
import os
import signal
import stat
import sys


async def watch(reader: asyncio.StreamReader, seen: bytes, cut: list) -> None:
    """Reads the rest of a stream; counts it in `cut` when it ends (EOF, an error event, or the
    last chunk of a chunked body) before the client closes it."""
    tail = seen[-16:]
    while True:
        try:
            data = await reader.read(4096)
        except ConnectionError:
            data = b""
        tail = (tail + data)[-16:]
        if not data or b"event: error" in data or tail.endswith(b"\r\n0\r\n\r\n"):
            cut.append(1)
            return


async def open_stream(port: int, path: str, gate: asyncio.Semaphore, streams: list, errors: list,
                      watchers: list, cut: list) -> None:
    async with gate:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            seen = b""
            while b"data: hello\n\n" not in seen:
                data = await asyncio.wait_for(reader.read(4096), 30)
                if not data:
                    raise RuntimeError("closed before the first event")
                seen += data
            streams.append(writer)
            watchers.append(asyncio.ensure_future(watch(reader, seen, cut)))
        except Exception as e:  # counted, the first few printed
            errors.append(e)
            if len(errors) <= 3:
                print(f"stream failed: {e!r}", file=sys.stderr, flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--hold", type=float, default=120.0)
    ap.add_argument("--path", default="/")
    args = ap.parse_args()
    gate, streams, errors, watchers, cut = asyncio.Semaphore(args.concurrency), [], [], [], []
    await asyncio.gather(*(open_stream(args.port, args.path, gate, streams, errors, watchers, cut)
                           for _ in range(args.n)))
    print(f"open {len(streams)} failed {len(errors)}", flush=True)

    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    fd = sys.stdin.fileno()
    if stat.S_ISFIFO(os.fstat(fd).st_mode) or os.isatty(fd):  # stdin a pipe or a terminal: a line or EOF stops
        loop.add_reader(fd, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.hold)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.5)         # let the watchers read what has arrived
    for w in watchers:
        w.cancel()
    for writer in streams:
        writer.close()
    print(f"closed {len(streams)} cut {len(cut)}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
