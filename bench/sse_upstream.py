#!/usr/bin/env python3
"""An upstream that holds server-sent event streams open cheaply, for bench/sse_memory.sh.

GET /ok answers a plain 200 "ok" (readiness checks); any other request gets 200
text/event-stream (chunked), one `data: hello` event, and then the stream stays open until the
client (the proxy) closes it, with a `: ping` comment every PING seconds as a real SSE server
sends to get through idle timeouts (0: send nothing). Standard library only.

Usage: python3 bench/sse_upstream.py PORT [--ping 20]
"""
import argparse
import asyncio

STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
               b"transfer-encoding: chunked\r\n\r\n")
OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ping: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if target == b"/ok":
                writer.write(OK)
                await writer.drain()
                continue
            writer.write(STREAM_HEAD + chunk(b"data: hello\n\n"))
            await writer.drain()
            read = asyncio.ensure_future(reader.read(4096))
            while True:             # until the proxy closes: EOF, or an error
                done, _ = await asyncio.wait({read}, timeout=ping or None)
                if done:
                    if not read.result():
                        return
                    read = asyncio.ensure_future(reader.read(4096))
                else:
                    writer.write(chunk(b": ping\n\n"))
                    await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--ping", type=float, default=20.0)
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.ping), "127.0.0.1", args.port,
                                        backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
