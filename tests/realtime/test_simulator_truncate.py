"""conversation.item.truncate after playback stops (protocol §2, §4.6)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import SimulatorClient, fast_config, open_client, user_text


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def answer(client: SimulatorClient, text: str = "Hello") -> tuple[str, int, list[dict]]:
    await client.send("conversation.item.create", item=user_text(text))
    await client.send("response.create")
    events = await client.recv_until("rate_limits.updated")
    item_id = next(e for e in events if e["type"] == "response.output_item.added")["item"]["id"]
    pcm = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    return item_id, len(pcm) // 48, events


async def test_truncating_assistant_audio_drops_its_transcript(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        item_id, audio_ms, _ = await answer(client)
        await client.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=500)
        truncated = await client.expect("conversation.item.truncated")
        await client.send("conversation.item.retrieve", item_id=item_id)
        item = (await client.expect("conversation.item.retrieved"))["item"]
    assert audio_ms > 500
    assert truncated == {
        "type": "conversation.item.truncated",
        "event_id": truncated["event_id"],
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": 500,
    }
    assert item["content"] == [{"type": "output_audio", "transcript": ""}]


async def test_the_next_response_reads_only_the_heard_audio(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        item_id, _, _ = await answer(client)
        await client.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=500)
        await client.expect("conversation.item.truncated")
        _, _, events = await answer(client, "Again")
    usage = next(e for e in events if e["type"] == "response.done")["response"]["usage"]
    assert usage["input_token_details"]["audio_tokens"] == 500 // 50


async def test_truncating_past_the_end_of_the_audio_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        item_id, audio_ms, _ = await answer(client)
        await client.send(
            "conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=audio_ms + 1000
        )
        error = (await client.expect("error"))["error"]
    assert error["message"] == f"Audio content of {audio_ms}ms is already shorter than {audio_ms + 1000}ms"


async def test_truncating_a_user_item_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hi"))
        item_id = (await client.recv_until("conversation.item.done"))[-1]["item"]["id"]
        await client.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=0)
        error = (await client.expect("error"))["error"]
    assert error["code"] == "unsupported_content_type"
    assert error["message"] == "Only model output audio messages can be truncated"


async def test_truncating_a_text_answer_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("session.update", session={"type": "realtime", "output_modalities": ["text"]})
        await client.expect("session.updated")
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("rate_limits.updated")
        item_id = events[-2]["response"]["output"][0]["id"]
        await client.send("conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=0)
        error = (await client.expect("error"))["error"]
    assert error["code"] == "unsupported_content_type"


async def test_truncating_an_unknown_item_is_refused(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send("conversation.item.truncate", item_id="item_nope", content_index=0, audio_end_ms=0)
        error = (await client.expect("error"))["error"]
    assert error["code"] == "item_truncate_invalid_item_id"
