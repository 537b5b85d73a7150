"""session.created shapes and session.update validation in every dialect."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from realtime.simulator import RunningSimulator, run_simulator
from realtime.simulator.testing import (
    PREVIEW_PATH,
    VOICE_LIVE_PATH,
    SimulatorClient,
    fast_config,
    open_client,
)

ID = re.compile(r"^(event|sess)_[A-Za-z0-9]{21}$")
GA_SESSION_KEYS = {
    # The keys of a real GA session.created ([CAP], protocol §3).
    "type", "object", "id", "model", "output_modalities", "instructions", "tools", "tool_choice",
    "max_output_tokens", "tracing", "truncation", "prompt", "expires_at", "audio", "include",
}  # fmt: skip


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(fast_config()) as running:
        yield running


async def update_error(client: SimulatorClient, session: dict, event_id: str | None = None) -> dict:
    fields = {"event_id": event_id} if event_id else {}
    await client.send("session.update", session=session, **fields)
    return (await client.expect("error"))["error"]


async def test_it_sends_session_created_first_with_the_ga_shape(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        event = await client.recv()
    session = event["session"]
    assert event["type"] == "session.created"
    assert ID.match(event["event_id"])
    assert ID.match(session["id"])
    assert set(session) == GA_SESSION_KEYS
    assert session["type"] == "realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "alloy",
        "speed": 1.0,
    }


async def test_the_preview_route_sends_a_flat_beta_session(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        session = (await client.expect("session.created"))["session"]
    assert session["object"] == "realtime.session"
    assert session["model"] == "gpt-4o-realtime-preview"
    assert session["modalities"] == ["audio", "text"]
    assert session["voice"] == "alloy"
    assert session["input_audio_format"] == "pcm16"
    assert "type" not in session
    assert "audio" not in session


async def test_voice_live_sends_a_flat_session_with_azure_fields(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        session = (await client.expect("session.created"))["session"]
    assert session["input_audio_sampling_rate"] == 24000
    assert session["input_audio_echo_cancellation"] is None
    assert session["voice"]["type"] == "azure-standard"
    assert session["turn_detection"]["silence_duration_ms"] == 500


async def test_ga_refuses_an_update_without_session_type(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"instructions": "Be brief."})
    assert error["code"] == "missing_required_parameter"
    assert error["param"] == "session.type"
    assert error["message"] == "Missing required parameter: 'session.type'."


async def test_ga_refuses_an_invalid_session_type(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"type": "session"})
    assert error["code"] == "invalid_value"
    assert (
        error["message"] == "Invalid value: 'session'. Supported values are: 'realtime' and 'transcription'."
    )


@pytest.mark.parametrize("field", ["modalities", "voice", "input_audio_format", "temperature"])
async def test_ga_refuses_beta_fields_as_unknown_parameters(sim: RunningSimulator, field: str) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"type": "realtime", field: "x"})
    assert error == {
        "type": "invalid_request_error",
        "code": "unknown_parameter",
        "message": f"Unknown parameter: 'session.{field}'.",
        "param": f"session.{field}",
        "event_id": None,
    }


async def test_ga_names_the_full_path_of_a_nested_unknown_field(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"type": "realtime", "audio": {"input": {"speed": 1.0}}})
    assert error["message"] == "Unknown parameter: 'session.audio.input.speed'."


async def test_an_error_echoes_the_client_event_id(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"type": "realtime", "modalities": ["text"]}, "evt_client_7")
    assert error["event_id"] == "evt_client_7"


async def test_a_refused_update_changes_nothing(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        original = (await client.recv())["session"]
        await update_error(client, {"type": "realtime", "instructions": "Changed.", "voice": "ash"})
        await client.send("session.update", session={"type": "realtime"})
        updated = (await client.expect("session.updated"))["session"]
    assert updated == original


async def test_a_valid_update_returns_the_full_effective_config(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        original = (await client.recv())["session"]
        await client.send(
            "session.update",
            session={
                "type": "realtime",
                "instructions": "Be brief.",
                "audio": {
                    "input": {
                        "turn_detection": {"type": "semantic_vad"},
                        "transcription": {"model": "whisper-1"},
                    },
                    "output": {"voice": "marin"},
                },
            },
        )
        session = (await client.expect("session.updated"))["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["input"]["transcription"] == {
        "model": "whisper-1",
        "language": None,
        "prompt": None,
    }
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["audio"]["output"]["speed"] == 1.0
    assert session["tools"] == original["tools"]
    assert session["id"] == original["id"]


async def test_ga_refuses_both_output_modalities_at_once(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        error = await update_error(client, {"type": "realtime", "output_modalities": ["audio", "text"]})
    assert error["code"] == "invalid_value"
    assert error["param"] == "session.output_modalities"


async def test_ga_refuses_a_sample_rate_other_than_24khz(sim: RunningSimulator) -> None:
    async with open_client(sim) as client:
        await client.recv()
        fmt = {"type": "audio/pcm", "rate": 16000}
        error = await update_error(client, {"type": "realtime", "audio": {"input": {"format": fmt}}})
    assert error["code"] == "integer_below_min_value"
    assert error["param"] == "session.audio.input.format.rate"


async def test_the_preview_route_rejects_ga_fields(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        error = await update_error(client, {"output_modalities": ["audio"]})
    assert error["code"] == "unknown_parameter"
    assert error["message"] == "Unknown parameter: 'session.output_modalities'."


async def test_the_preview_route_rejects_audio_only_modalities(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        error = await update_error(client, {"modalities": ["audio"]})
    assert error["code"] == "invalid_value"
    assert error["param"] == "session.modalities"


@pytest.mark.parametrize("modalities", [["audio", "text"], ["text", "audio"], ["text"]])
async def test_the_preview_route_accepts_its_modalities(sim: RunningSimulator, modalities: list[str]) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        await client.send("session.update", session={"modalities": modalities})
        session = (await client.expect("session.updated"))["session"]
    assert session["modalities"] == modalities


async def test_the_preview_route_checks_the_temperature_range(sim: RunningSimulator) -> None:
    async with open_client(sim, PREVIEW_PATH) as client:
        await client.recv()
        error = await update_error(client, {"temperature": 0.2})
    assert error["code"] == "decimal_below_min_value"
    assert error["param"] == "session.temperature"


async def test_voice_live_accepts_its_azure_session_fields(sim: RunningSimulator) -> None:
    voice = {"name": "en-US-Ava:DragonHDLatestNeural", "type": "azure-standard", "temperature": 0.8}
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        await client.send(
            "session.update",
            session={
                "modalities": ["text", "audio"],
                "input_audio_sampling_rate": 16000,
                "turn_detection": {
                    "type": "azure_semantic_vad",
                    "threshold": 0.5,
                    "remove_filler_words": True,
                },
                "input_audio_noise_reduction": {"type": "azure_deep_noise_suppression"},
                "input_audio_echo_cancellation": {"type": "server_echo_cancellation"},
                "voice": voice,
            },
        )
        session = (await client.expect("session.updated"))["session"]
    assert session["voice"] == voice
    assert session["input_audio_sampling_rate"] == 16000
    assert session["turn_detection"]["type"] == "azure_semantic_vad"
    assert session["turn_detection"]["silence_duration_ms"] == 500
    assert session["input_audio_noise_reduction"] == {"type": "azure_deep_noise_suppression"}


async def test_voice_live_accepts_a_voice_name_string(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        await client.send("session.update", session={"voice": "alloy"})
        session = (await client.expect("session.updated"))["session"]
    assert session["voice"] == "alloy"


async def test_voice_live_rejects_an_unknown_voice_type(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        error = await update_error(client, {"voice": {"type": "robot", "name": "x"}})
    assert error["code"] == "invalid_value"
    assert error["param"] == "session.voice.type"


async def test_voice_live_rejects_ga_fields(sim: RunningSimulator) -> None:
    async with open_client(sim, VOICE_LIVE_PATH) as client:
        await client.recv()
        error = await update_error(client, {"audio": {}})
    assert error["message"] == "Unknown parameter: 'session.audio'."
