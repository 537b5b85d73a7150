"""A full voice turn driven by server VAD in the GA dialect (protocol §4)."""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import (
    SimulatorClient,
    fast_config,
    noise,
    of_type,
    open_client,
    silence,
    tone,
)

TRANSCRIBED = {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}
TURN_END = ("response.done", "rate_limits.updated", "conversation.item.input_audio_transcription.completed")
GA_ORDER = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "conversation.item.done",
    "response.output_item.done",
    "response.done",
    "rate_limits.updated",
]


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def voice_turn(client: SimulatorClient, pcm: bytes) -> list[dict]:
    await client.send_audio(pcm)
    return await client.collect(*TURN_END)


async def transcribed_session(client: SimulatorClient) -> str:
    instructions = (await client.recv())["session"]["instructions"]
    await client.send("session.update", session=TRANSCRIBED)
    await client.expect("session.updated")
    return instructions


async def test_a_voice_turn_follows_the_ga_event_order(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        events = await voice_turn(client, silence(500) + tone(1000) + silence(600))
    flow = [
        event["type"]
        for event in events
        if not event["type"].endswith(".delta") and "input_audio_transcription" not in event["type"]
    ]
    assert flow == GA_ORDER


async def test_vad_reports_stream_positions_with_padding_and_silence(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        events = await voice_turn(client, silence(500) + tone(1000) + silence(600))
    started = of_type(events, "input_audio_buffer.speech_started")[0]
    stopped = of_type(events, "input_audio_buffer.speech_stopped")[0]
    committed = of_type(events, "input_audio_buffer.committed")[0]
    user_item = of_type(events, "conversation.item.added")[0]["item"]
    assert started["audio_start_ms"] == 500 - 300  # onset minus prefix_padding_ms
    assert stopped["audio_end_ms"] == 1500 + 200  # end of speech plus silence_duration_ms
    assert started["item_id"] == stopped["item_id"] == committed["item_id"] == user_item["id"]
    assert user_item["content"] == [{"type": "input_audio", "transcript": None}]
    assert user_item["role"] == "user"


async def test_the_answer_streams_transcript_and_audio_deltas(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        events = await voice_turn(client, silence(500) + tone(1000) + silence(600))
    transcript = "".join(
        event["delta"] for event in of_type(events, "response.output_audio_transcript.delta")
    )
    chunks = [base64.b64decode(event["delta"]) for event in of_type(events, "response.output_audio.delta")]
    done = of_type(events, "response.output_audio_transcript.done")[0]
    assert transcript == done["transcript"] == "I heard you speak for 1.0 seconds."
    assert len(chunks) > 5
    assert all(len(chunk) <= 4800 for chunk in chunks)  # about 100 ms of 24 kHz PCM16 each
    assert all("obfuscation" in event for event in of_type(events, "response.output_audio_transcript.delta"))
    part = of_type(events, "response.content_part.added")[0]["part"]
    assert part == {"type": "audio", "transcript": ""}


async def test_usage_follows_the_token_rules(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        instructions = await transcribed_session(client)
        events = await voice_turn(client, silence(500) + tone(1000) + silence(600))
    audio_ms = (
        sum(len(base64.b64decode(e["delta"])) for e in of_type(events, "response.output_audio.delta")) // 48
    )
    usage = of_type(events, "response.done")[0]["response"]["usage"]
    committed_ms = 1700 - 200
    assert usage["input_token_details"]["audio_tokens"] == committed_ms // 100
    assert usage["input_token_details"]["text_tokens"] == math.ceil(len(instructions) / 4)
    assert usage["output_token_details"] == {
        "text_tokens": math.ceil(len("I heard you speak for 1.0 seconds.") / 4),
        "audio_tokens": audio_ms // 50,
    }
    assert usage["input_tokens"] == sum(
        usage["input_token_details"][k] for k in ("text_tokens", "audio_tokens")
    )
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    cached = usage["input_token_details"]["cached_tokens_details"]
    assert usage["input_token_details"]["cached_tokens"] == cached["text_tokens"] + cached["audio_tokens"]
    assert usage["input_token_details"]["cached_tokens"] % 64 == 0
    assert usage["input_token_details"]["cached_tokens"] <= usage["input_tokens"]


async def test_input_transcription_arrives_with_delta_completed_and_usage(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        events = await voice_turn(client, silence(500) + tone(1400) + silence(600))
    item_id = of_type(events, "input_audio_buffer.committed")[0]["item_id"]
    deltas = of_type(events, "conversation.item.input_audio_transcription.delta")
    completed = of_type(events, "conversation.item.input_audio_transcription.completed")[0]
    assert completed["item_id"] == item_id
    assert completed["transcript"] == "(1.4 seconds of speech)"
    assert "".join(delta["delta"] for delta in deltas) == completed["transcript"]
    assert completed["usage"] == {
        "type": "tokens",
        "total_tokens": 19 + 6,
        "input_tokens": 19,  # 1.9 s committed: 1 token per 100 ms
        "input_token_details": {"text_tokens": 0, "audio_tokens": 19},
        "output_tokens": 6,
    }


async def test_without_transcription_configured_no_transcript_events_are_sent(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send_audio(silence(300) + tone(600) + silence(400))
        events = await client.recv_until("rate_limits.updated")
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert not [event for event in events if "transcription" in event["type"]]
    assert after["type"] == "input_audio_buffer.cleared"


async def test_configured_user_transcripts_are_used_in_order() -> None:
    transcripts = ["What is the weather like?", "Thank you"]
    async with run_simulator(fast_config(user_transcripts=transcripts)) as sim, open_client(sim) as client:
        await transcribed_session(client)
        first = await voice_turn(client, silence(300) + tone(700) + silence(400))
        second = await voice_turn(client, tone(700) + silence(400))
    for events, text, answer in [
        (first, transcripts[0], "You said: What is the weather like?"),
        (second, transcripts[1], "You said: Thank you."),
    ]:
        assert (
            of_type(events, "conversation.item.input_audio_transcription.completed")[0]["transcript"] == text
        )
        assert of_type(events, "response.output_audio_transcript.done")[0]["transcript"] == answer


async def test_a_second_turn_resends_the_conversation_and_reads_part_from_cache(
    sim: RunningSimulator,
) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        first = await voice_turn(client, silence(300) + tone(700) + silence(400))
        second = await voice_turn(client, tone(900) + silence(400))
    usage_one = of_type(first, "response.done")[0]["response"]["usage"]
    usage_two = of_type(second, "response.done")[0]["response"]["usage"]
    assert usage_two["input_tokens"] > usage_one["input_tokens"] + usage_one["output_tokens"]
    assert (
        usage_two["input_token_details"]["cached_tokens"] > usage_one["input_token_details"]["cached_tokens"]
    )
    assert usage_two["input_token_details"]["cached_tokens_details"]["audio_tokens"] > 0


async def test_audio_times_continue_across_turns(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await transcribed_session(client)
        first = await voice_turn(client, silence(500) + tone(600) + silence(400))
        second = await voice_turn(client, silence(500) + tone(600) + silence(400))
    first_end = of_type(first, "input_audio_buffer.speech_stopped")[0]["audio_end_ms"]
    second_start = of_type(second, "input_audio_buffer.speech_started")[0]["audio_start_ms"]
    assert first_end == 1300
    assert second_start == 1500 + 500 - 300


async def test_quiet_noise_does_not_open_a_turn(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        await client.send_audio(noise(1500))
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert after["type"] == "input_audio_buffer.cleared"


async def test_create_response_false_commits_without_answering(sim: RunningSimulator) -> None:
    turn = {"type": "server_vad", "create_response": False}
    async with open_client(sim) as client:
        await client.recv()
        await client.send(
            "session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": turn}}}
        )
        await client.expect("session.updated")
        await client.send_audio(tone(500) + silence(400))
        events = await client.recv_until("conversation.item.done")
        await client.send("input_audio_buffer.clear")
        after = await client.recv()
    assert events[-1]["item"]["role"] == "user"
    assert after["type"] == "input_audio_buffer.cleared"
