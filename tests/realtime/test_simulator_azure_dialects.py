"""Beta-style dialects: Azure's preview route and Azure Voice Live (protocol §1b, §3, §5)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import (
    PREVIEW_PATH,
    VOICE_LIVE_PATH,
    SimulatorClient,
    fast_config,
    of_type,
    open_client,
    silence,
    tone,
    user_text,
)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def nothing_more(client: SimulatorClient) -> bool:
    """True when the next event is the answer to a clear, i.e. nothing else was pending."""
    await client.send("input_audio_buffer.clear")
    return (await client.recv())["type"] == "input_audio_buffer.cleared"


async def test_the_preview_route_uses_beta_names_for_a_text_turn(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        await client.send("conversation.item.create", item=user_text("Hi"))
        created = await client.expect("conversation.item.created")
        await client.send("response.create")
        events = await client.recv_until("response.done")
        assert await nothing_more(client)
    kinds = {event["type"] for event in events}
    assert created["item"]["object"] == "realtime.item"
    assert {"response.audio.delta", "response.audio_transcript.delta", "response.audio.done"} <= kinds
    assert "conversation.item.created" in kinds
    assert not [kind for kind in kinds if kind.startswith("response.output_audio")]
    assert "conversation.item.added" not in kinds
    assert not [e for e in of_type(events, "response.audio_transcript.delta") if "obfuscation" in e]
    response = events[-1]["response"]
    assert response["modalities"] == ["audio", "text"]
    assert response["output"][0]["content"] == [{"type": "audio", "transcript": "You said: Hi."}]
    assert response["usage"]["input_token_details"]["cached_tokens_details"]["image_tokens"] == 0


async def test_the_preview_route_answers_text_only_sessions_with_text_events(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        await client.send("session.update", session={"modalities": ["text"]})
        await client.expect("session.updated")
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("response.done")
    assert of_type(events, "response.text.done")[0]["text"] == "You said: Hi."
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "text", "text": "You said: Hi."}]


async def test_voice_live_runs_a_voice_turn_with_beta_names_and_no_extras(sim: RunningSimulator) -> None:
    session = {
        "turn_detection": {"type": "azure_semantic_vad", "silence_duration_ms": 400},
        "input_audio_transcription": {"model": "azure-speech"},
    }
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        await client.send("session.update", session=session)
        await client.expect("session.updated")
        await client.send_audio(silence(500) + tone(800) + silence(500))
        events = await client.collect(
            "response.done", "conversation.item.input_audio_transcription.completed"
        )
        assert await nothing_more(client)
    kinds = [event["type"] for event in events]
    assert kinds.count("conversation.item.created") == 2  # the user item and the assistant item
    assert "conversation.item.added" not in kinds
    assert "conversation.item.done" not in kinds
    assert "rate_limits.updated" not in kinds
    assert "response.audio.delta" in kinds
    assert of_type(events, "input_audio_buffer.speech_started")[0]["audio_start_ms"] == 500 - 300
    assert of_type(events, "input_audio_buffer.speech_stopped")[0]["audio_end_ms"] == 1300 + 400
    completed = of_type(events, "conversation.item.input_audio_transcription.completed")[0]
    assert completed["transcript"] == "(0.8 seconds of speech)"
    assert "usage" not in completed


async def test_voice_live_measures_16khz_input_at_16khz(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        await client.send("session.update", session={"input_audio_sampling_rate": 16000})
        await client.expect("session.updated")
        pcm = silence(500, rate=16000) + tone(1000, rate=16000) + silence(600, rate=16000)
        await client.send_audio(pcm, rate=16000)
        events = await client.recv_until("response.done")
    assert of_type(events, "input_audio_buffer.speech_started")[0]["audio_start_ms"] == 200
    assert of_type(events, "input_audio_buffer.speech_stopped")[0]["audio_end_ms"] == 2000
    assert events[-1]["response"]["usage"]["input_token_details"]["audio_tokens"] == 18


async def test_voice_live_can_answer_at_16khz(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        await client.send("session.update", session={"output_audio_format": "pcm16_16000hz"})
        await client.expect("session.updated")
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("response.done")
    chunks = [base64.b64decode(event["delta"]) for event in of_type(events, "response.audio.delta")]
    assert max(len(chunk) for chunk in chunks) == 3200  # 100 ms at 16 kHz
    assert events[-1]["response"]["output_audio_format"] == "pcm16_16000hz"


async def test_voice_live_keeps_its_voice_object_in_responses(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        voice = (await client.recv())["session"]["voice"]
        await client.send("conversation.item.create", item=user_text("Hi"))
        await client.send("response.create")
        events = await client.recv_until("response.done")
    assert events[-1]["response"]["voice"] == voice
