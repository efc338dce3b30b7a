"""WebSocket client scenarios for the integration tests, with the `websockets` package (PyPI), a
client that shares no code with Rampart. Usage: ws_client.py <scenario> <url> [args...]. Each
scenario prints `RESULT <json>` with what a user of the socket would notice."""
import asyncio
import base64
import json
import os
import socket
import struct
import sys
import time

import ssl

import websockets


def connect(url, **kw):
    """websockets.connect, trusting the test's CA (WS_CA) for wss:// URLs."""
    if url.startswith("wss://"):
        kw["ssl"] = ssl.create_default_context(cafile=os.environ["WS_CA"])
    return websockets.connect(url, **kw)


def result(obj):
    print("RESULT " + json.dumps(obj), flush=True)


def close_info(e):
    rcvd = getattr(e, "rcvd", None)
    return {"code": rcvd.code if rcvd else None, "reason": rcvd.reason if rcvd else None}


async def echo(url):
    out = {}
    async with connect(url, subprotocols=["chat.v1"], max_size=None, ping_interval=None) as ws:
        out["subprotocol"] = ws.subprotocol
        await ws.send("hello")
        out["text"] = await ws.recv()
        await ws.send(bytes(range(256)) * 300)
        b = await ws.recv()
        out["binary_ok"] = b == bytes(range(256)) * 300
        # A fragmented message (three frames) comes back whole.
        await ws.send(["frag-", "men-", "ted"])
        out["fragmented"] = await ws.recv()
        pong = await ws.ping(b"client-ping")
        await asyncio.wait_for(pong, 10)
        out["pong"] = True
        await ws.send("flood:200:4096")
        total = 0
        for _ in range(200):
            total += len(await ws.recv())
        out["flood_bytes"] = total
        out["response_headers"] = {k.lower(): v for k, v in ws.response.headers.raw_items()}
        await ws.close(1000, "bye")
        out["close_code"] = ws.close_code
    result(out)


async def echo_plain(url):
    """One text and one 300 kB binary message, without compression (so the bytes really cross)."""
    async with connect(url, max_size=None, ping_interval=None, compression=None) as ws:
        await ws.send("over TLS both ways")
        text = await ws.recv()
        await ws.send(os.urandom(300_000))
        result({"echo": text, "binary": len(await ws.recv())})


async def too_big(url, size):
    async with connect(url, max_size=None, ping_interval=None) as ws:
        await ws.send("small")
        first = await ws.recv()
        try:
            await ws.send("x" * int(size))
            await asyncio.wait_for(ws.recv(), 15)
            result({"first": first, "closed": False})
        except websockets.ConnectionClosed as e:
            result({"first": first, "closed": True, **close_info(e)})


async def command(url, text):
    """Sends one text message (a demo app command such as close:4001 or big:5000) and reports the
    answer: a message's length, or how the socket was closed."""
    async with connect(url, ping_interval=None, max_size=None) as ws:
        await ws.send(text)
        try:
            answer = await asyncio.wait_for(ws.recv(), 15)
            result({"closed": False, "length": len(answer)})
        except websockets.ConnectionClosed as e:
            result({"closed": True, **close_info(e)})


async def handshake(url, origin, headers):
    extra = json.loads(headers) if headers else {}
    try:
        async with connect(url, origin=origin or None, additional_headers=extra, ping_interval=None) as ws:
            await ws.send("hi")
            result({"opened": True, "echo": await ws.recv()})
    except websockets.InvalidStatus as e:
        r = e.response
        result({"opened": False, "status": r.status_code, "body": r.body.decode("utf-8", "replace"),
                "headers": {k.lower(): v for k, v in r.headers.raw_items()}})


async def hold(url, count, seconds):
    """Opens `count` sockets one after the other, keeps the open ones for `seconds`."""
    socks, statuses = [], []
    for _ in range(int(count)):
        try:
            ws = await connect(url, ping_interval=None)
            socks.append(ws)
            statuses.append(101)
        except websockets.InvalidStatus as e:
            statuses.append(e.response.status_code)
    print("OPENED " + json.dumps(statuses), flush=True)
    codes = []
    deadline = time.monotonic() + float(seconds)
    for ws in socks:
        try:
            await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        except websockets.ConnectionClosed as e:
            codes.append(close_info(e))
            continue
        except asyncio.TimeoutError:
            pass
    for ws in socks:
        if ws.close_code is None:
            await ws.close()
    result({"statuses": statuses, "closes": codes})


def silent(host, port, path, seconds):
    """A raw client that completes the handshake and then never answers: it counts Rampart's pings
    and waits for its close frame (the idle limit)."""
    s = socket.create_connection((host, int(port)), timeout=float(seconds))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    pings, close = 0, None
    start = time.monotonic()
    try:
        while close is None:
            while len(buf) < 2:
                chunk = s.recv(4096)
                if not chunk:
                    raise EOFError
                buf += chunk
            n = buf[1] & 0x7F
            while len(buf) < 2 + n:
                buf += s.recv(4096)
            op, payload, buf = buf[0] & 0x0F, buf[2:2 + n], buf[2 + n:]
            if op == 0x9:
                pings += 1
            elif op == 0x8:
                close = {"code": struct.unpack("!H", payload[:2])[0], "reason": payload[2:].decode()}
    except (EOFError, socket.timeout):
        pass
    result({"status": status, "pings": pings, "close": close, "seconds": round(time.monotonic() - start, 2)})


async def wait_close(url):
    """Opens a socket, says READY, and reports how it was closed (a drain, a session limit)."""
    async with connect(url, ping_interval=None) as ws:
        print("READY", flush=True)
        start = time.monotonic()
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 60)
        except websockets.ConnectionClosed as e:
            result({**close_info(e), "seconds": round(time.monotonic() - start, 2)})


async def realtime(url, responses, headers):
    """An OpenAI Realtime client: asks for `responses` responses one after the other and reports
    how many completed and how the session ended."""
    extra = json.loads(headers) if headers else {}
    done, events = 0, []
    try:
        async with connect(url, additional_headers=extra, ping_interval=None) as ws:
            events.append(json.loads(await ws.recv())["type"])
            try:
                for _ in range(int(responses)):
                    await ws.send(json.dumps({"type": "response.create"}))
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), 15))
                        events.append(event["type"])
                        if event["type"] == "response.done":
                            done += 1
                            break
                await ws.close()
                result({"opened": True, "done": done, "events": events, "code": ws.close_code})
            except websockets.ConnectionClosed as e:
                result({"opened": True, "done": done, "events": events, **close_info(e)})
    except websockets.InvalidStatus as e:
        result({"opened": False, "status": e.response.status_code, "body": e.response.body.decode("utf-8", "replace")})


def main():
    name, url, *args = sys.argv[1:]
    if name == "echo":
        asyncio.run(echo(url))
    elif name == "echo-plain":
        asyncio.run(echo_plain(url))
    elif name == "too-big":
        asyncio.run(too_big(url, args[0]))
    elif name == "command":
        asyncio.run(command(url, args[0]))
    elif name == "handshake":
        asyncio.run(handshake(url, args[0] if args else "", args[1] if len(args) > 1 else ""))
    elif name == "hold":
        asyncio.run(hold(url, args[0], args[1]))
    elif name == "silent":
        silent(url, args[0], args[1], args[2])
    elif name == "realtime":
        asyncio.run(realtime(url, args[0], args[1] if len(args) > 1 else ""))
    elif name == "wait-close":
        asyncio.run(wait_close(url))
    else:
        sys.exit("unknown scenario " + name)


if __name__ == "__main__":
    main()
