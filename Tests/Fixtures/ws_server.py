"""A WebSocket upstream of the `websockets` package (PyPI), optionally over TLS: `echo` sends each
message back; `realtime` plays OpenAI's Realtime API (session.created on connect; for each
response.create: response.created, text deltas, then response.done with usage). Prints
`listening <port>` once ready. Usage: ws_server.py <echo|realtime> [cert key]."""
import asyncio
import json
import ssl
import sys

import websockets

USAGE = {"total_tokens": 150, "input_tokens": 100, "output_tokens": 50,
         "input_token_details": {"cached_tokens": 20, "text_tokens": 100, "audio_tokens": 0},
         "output_token_details": {"text_tokens": 50, "audio_tokens": 0}}


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def realtime(ws):
    await ws.send(json.dumps({"type": "session.created", "event_id": "ev_1",
                              "session": {"id": "sess_1", "object": "realtime.session", "model": "gpt-4o-realtime-preview"}}))
    n = 0
    try:
        async for message in ws:
            event = json.loads(message)
            if event.get("type") != "response.create":
                continue
            n += 1
            rid = f"resp_{n}"
            await ws.send(json.dumps({"type": "response.created", "response": {"id": rid, "status": "in_progress"}}))
            for word in ["Hello", " from", " the", " realtime", " fake"]:
                await ws.send(json.dumps({"type": "response.output_text.delta", "response_id": rid, "delta": word}))
            await ws.send(json.dumps({"type": "response.done", "event_id": f"ev_done_{n}",
                                      "response": {"id": rid, "status": "completed", "usage": USAGE}}))
    except websockets.ConnectionClosed:
        pass


async def main():
    mode = sys.argv[1]
    context = None
    if len(sys.argv) > 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
    handler = echo if mode == "echo" else realtime
    async with websockets.serve(handler, "127.0.0.1", 0, ssl=context, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
