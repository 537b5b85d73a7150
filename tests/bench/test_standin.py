"""The upstream stand-in plays a full turn after as much audio as its path asks for."""

from __future__ import annotations

import base64
import json

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from bench.standin import handle

FRAME = base64.b64encode(b"\x00\x00" * 2400).decode()  # 100 ms of PCM16 at 24 kHz


async def _turns_after(path: str, frames: int) -> int:
    """How many response.done events `frames` appends of 100 ms bring on `path`."""
    async with serve(lambda ws: handle(ws, turn_ms=2000), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}{path}") as ws:
            await ws.recv()  # session.created
            for _ in range(frames):
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": FRAME}))
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            done = 0
            while (event := json.loads(await ws.recv()))["type"] != "session.updated":
                done += event["type"] == "response.done"
            return done


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/turns-every-300/v1/realtime", (6, 7)),  # 2 s of audio: a turn every 300 ms
        ("/turns/v1/realtime", (1, 1)),  # the default, 2 s: one turn (its first comes earlier)
        ("/v1/realtime", (0, 0)),  # echo only
    ],
)
async def test_the_path_sets_how_much_audio_comes_between_turns(path: str, expected: tuple[int, int]) -> None:
    low, high = expected

    assert low <= await _turns_after(path, frames=20) <= high
