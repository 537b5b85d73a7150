"""The reference: a bare relay written the way the simplest public bridges are.

A plain ASGI app with a websockets client per browser: every audio frame is base64-encoded and
wrapped with `json.dumps` on the way up, every upstream event is `json.loads`-ed and its audio
base64-decoded on the way down. No persistence, no authentication, no origin check, no limits.
It speaks the browser side of docs/protocol.md only as far as the benchmark needs (binary audio
both ways, `session.ready`, `assistant.audio.start`), so the same clients drive it and the app.

    BARE_UPSTREAM_URL=ws://127.0.0.1:8765/v1/realtime uvicorn bench.bare_relay:app
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import websockets

UPSTREAM_URL = os.environ.get("BARE_UPSTREAM_URL", "ws://127.0.0.1:8765/v1/realtime")
API_KEY = os.environ.get("BARE_API_KEY", "bench")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI entry point: WebSockets are relayed, lifespan is acknowledged, HTTP gets 404."""
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    else:
        await relay(receive, send)


async def relay(receive: Any, send: Any) -> None:
    """One browser: connect upstream, configure the session, pump both directions."""
    await receive()  # websocket.connect
    upstream = await websockets.connect(
        f"{UPSTREAM_URL}?model=gpt-realtime", additional_headers={"Authorization": f"Bearer {API_KEY}"}
    )
    await send({"type": "websocket.accept"})
    await upstream.send(
        json.dumps(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "instructions": "You are a helpful assistant.",
                    "output_modalities": ["audio"],
                    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}},
                },
            }
        )
    )
    downstream = asyncio.create_task(upstream_to_browser(upstream, send))
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes"):
                audio = base64.b64encode(message["bytes"]).decode()
                await upstream.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
    finally:
        downstream.cancel()
        await upstream.close()


async def upstream_to_browser(upstream: Any, send: Any) -> None:
    """Upstream events to the browser: audio as binary frames, readiness as JSON."""
    current_item = None
    async for raw in upstream:
        event = json.loads(raw)
        if event["type"] == "response.output_audio.delta":
            if event["item_id"] != current_item:
                current_item = event["item_id"]
                start = {"type": "assistant.audio.start", "item_id": current_item}
                await send({"type": "websocket.send", "text": json.dumps(start)})
            await send({"type": "websocket.send", "bytes": base64.b64decode(event["delta"])})
        elif event["type"] == "session.updated":
            await send({"type": "websocket.send", "text": json.dumps({"type": "session.ready"})})
