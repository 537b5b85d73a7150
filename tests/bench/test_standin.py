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
    return sum(e["type"] == "input_audio_buffer.speech_started" for f in per_frame for e in f)


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


async def test_a_turns_events_come_in_a_real_turns_order_spread_over_it() -> None:
    # Aligned turns of 1 s: a turn starts after frames 10 and 20; the user stops a fifth of the
    # turn later, the transcript comes at 35%, and a word of the answer every 300 ms of audio.
    per_frame = await _events_after("/turns-aligned/v1/realtime", frames=21, turn_ms=1000)

    kinds = {i + 1: [e["type"] for e in events] for i, events in enumerate(per_frame) if events}
    answer_starts = [
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    word = "response.output_audio_transcript.delta"
    assert kinds == {
        10: ["input_audio_buffer.speech_started"],
        12: answer_starts,
        14: ["conversation.item.input_audio_transcription.completed"],
        15: [word],
        18: [word],
        20: [
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
            "input_audio_buffer.speech_started",
        ],  # and no word while the user speaks again
    }
    user = per_frame[11][2]["item"]["id"]
    assert per_frame[9][0]["item_id"] == user == per_frame[13][0]["item_id"]
    done = per_frame[19][5]["response"]
    assert done["id"] == per_frame[11][4]["response"]["id"]
    assert done["usage"]["total_tokens"] > 0
    # The answer's transcript is its words, as the deltas gave them.
    assert per_frame[19][1]["transcript"] == "word1 word2 " == done["output"][0]["content"][0]["transcript"]
    assert per_frame[19][6]["item_id"] != user  # the next turn's user item


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
