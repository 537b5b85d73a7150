"""The upstream stand-in plays a turn after as much audio as its path asks for, spread as real
turns are."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from bench.standin import handle

FRAME = base64.b64encode(b"\x00\x00" * 2400).decode()  # 100 ms of PCM16 at 24 kHz
DELTA = "response.output_audio.delta"


async def _events_after(path: str, frames: int, turn_ms: int = 2000) -> list[list[dict[str, Any]]]:
    """The events other than the echo that each of `frames` appends of 100 ms brought on `path`."""
    async with serve(lambda ws: handle(ws, turn_ms=turn_ms), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}{path}") as ws:
            await ws.recv()  # session.created
            for _ in range(frames):
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": FRAME}))
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            per_frame: list[list[dict[str, Any]]] = []
            while (event := json.loads(await ws.recv()))["type"] != "session.updated":
                if event["type"] == DELTA:
                    per_frame.append([])
                else:
                    per_frame[-1].append(event)
            return per_frame


def _turns_started(per_frame: list[list[dict[str, Any]]]) -> int:
    return sum(
        e["type"] == "conversation.item.added" and e["item"]["role"] == "user" for f in per_frame for e in f
    )


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

    assert low <= _turns_started(await _events_after(path, frames=20)) <= high


async def test_a_turns_events_are_spread_over_it_as_a_real_conversations_are() -> None:
    # Aligned turns of 400 ms: a turn starts after frames 4 and 8, its answer a quarter later.
    per_frame = await _events_after("/turns-aligned/v1/realtime", frames=10, turn_ms=400)

    kinds = {i + 1: [e["type"] for e in events] for i, events in enumerate(per_frame) if events}
    assert kinds == {
        4: ["conversation.item.added"],
        5: [
            "conversation.item.input_audio_transcription.completed",
            "response.created",
            "conversation.item.added",
        ],
        8: ["response.output_audio_transcript.done", "response.done", "conversation.item.added"],
        9: [
            "conversation.item.input_audio_transcription.completed",
            "response.created",
            "conversation.item.added",
        ],
    }
    first_done = per_frame[7][1]["response"]
    assert first_done["id"] == per_frame[4][1]["response"]["id"]  # the answer that started at frame 5
    assert first_done["usage"]["total_tokens"] > 0
    assert per_frame[8][0]["item_id"] == per_frame[7][2]["item"]["id"]  # the second turn's user item


async def test_the_echo_carries_the_current_turns_ids() -> None:
    async with serve(lambda ws: handle(ws, turn_ms=400), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/turns-aligned/v1/realtime") as ws:
            await ws.recv()  # session.created
            items = []
            for _ in range(9):
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": FRAME}))
                while (event := json.loads(await ws.recv()))["type"] != DELTA:
                    pass
                items.append(event["item_id"])

    # The echo's item changes when a new turn starts (after frame 8), not before.
    assert items[:8] == [items[0]] * 8
    assert items[8] != items[0]
