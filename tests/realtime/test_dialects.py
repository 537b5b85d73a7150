"""The GA/beta translation layer: upstream events in, session updates and history items out."""

from __future__ import annotations

import json

import pytest

from realtime import events as ev
from realtime.dialects import DIALECTS
from realtime.session_config import SessionConfig, TurnDetectionConfig

GA, BETA, VOICELIVE = DIALECTS["ga"], DIALECTS["beta"], DIALECTS["voicelive"]

CONFIG = SessionConfig(
    instructions="Be brief.",
    voice="marin",
    turn_detection=TurnDetectionConfig(type="server_vad", threshold=0.5, silence_duration_ms=500),
    transcription_model="gpt-4o-mini-transcribe",
    transcription_language="en",
    max_output_tokens=None,
    noise_reduction="near_field",
)

# Real GA traffic from realtime-protocol.md section 3 [CAP].
GA_AUDIO_DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "event_1",
    "response_id": "resp_Ct1OZ5ukpGEZNeUWx1iOH",
    "item_id": "item_Ct1OZd4ZkrcbhoRueeC2O",
    "output_index": 0,
    "content_index": 0,
    "delta": "AAA=",
}
GA_USER_ITEM = {
    "type": "conversation.item.added",
    "event_id": "event_Ct1OZj9NwCjOpHFOCVWVn",
    "previous_item_id": None,
    "item": {
        "id": "item_Ct1OXLqYLre7VW2Bz9Eoy",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    },
}


def test_ga_audio_deltas_become_audio_deltas() -> None:
    assert GA.parse(GA_AUDIO_DELTA) == ev.AudioDelta(
        response_id="resp_Ct1OZ5ukpGEZNeUWx1iOH", item_id="item_Ct1OZd4ZkrcbhoRueeC2O", audio_b64="AAA="
    )


def test_beta_names_map_to_the_same_vocabulary() -> None:
    beta_delta = {**GA_AUDIO_DELTA, "type": "response.audio.delta"}
    beta_item = {**GA_USER_ITEM, "type": "conversation.item.created"}

    assert BETA.parse(beta_delta) == GA.parse(GA_AUDIO_DELTA)
    assert VOICELIVE.parse(beta_item) == GA.parse(GA_USER_ITEM)


def test_each_dialect_ignores_the_other_dialects_names() -> None:
    assert GA.parse({**GA_AUDIO_DELTA, "type": "response.audio.delta"}) is None
    assert BETA.parse(GA_AUDIO_DELTA) is None
    assert BETA.parse(GA_USER_ITEM) is None


def test_a_user_audio_item_is_an_audio_turn_in_order() -> None:
    assert GA.parse(GA_USER_ITEM) == ev.ItemAdded(
        item_id="item_Ct1OXLqYLre7VW2Bz9Eoy", role="user", kind="audio", text="", previous_item_id=None
    )


def test_a_typed_user_item_is_a_text_turn_with_its_text() -> None:
    item = {
        "id": "item_1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    added = GA.parse({"type": "conversation.item.added", "item": item, "previous_item_id": "item_0"})

    assert added == ev.ItemAdded(
        item_id="item_1", role="user", kind="text", text="hi", previous_item_id="item_0"
    )


def test_function_call_items_are_not_turns() -> None:
    event = {"type": "conversation.item.added", "item": {"id": "item_f", "type": "function_call"}}
    assert GA.parse(event) is None


def test_response_done_carries_status_reason_usage_and_items() -> None:
    event = {
        "type": "response.done",
        "response": {
            "id": "resp_1",
            "status": "cancelled",
            "status_details": {"type": "cancelled", "reason": "turn_detected"},
            "output": [{"id": "item_a", "type": "message"}],
            "usage": {"total_tokens": 3},
        },
    }
    assert GA.parse(event) == ev.ResponseDone(
        response_id="resp_1",
        status="cancelled",
        reason="turn_detected",
        usage={"total_tokens": 3},
        item_ids=("item_a",),
    )


def test_transcripts_end_with_transcript_or_text() -> None:
    audio_done = {"type": "response.output_audio_transcript.done", "item_id": "i", "transcript": "Sure!"}
    text_done = {"type": "response.text.done", "item_id": "i", "text": "Sure!"}

    assert GA.parse(audio_done) == ev.TranscriptDone(response_id="", item_id="i", text="Sure!")
    assert BETA.parse(text_done) == ev.TranscriptDone(response_id="", item_id="i", text="Sure!")


def test_errors_keep_code_and_the_client_event_id() -> None:
    event = {
        "type": "error",
        "event_id": "event_890",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_event",
            "message": "m",
            "event_id": "event_567",
        },
    }
    assert GA.parse(event) == ev.UpstreamError(code="invalid_event", message="m", event_id="event_567")


def test_transcription_usage_is_kept_and_voice_live_has_none() -> None:
    completed = {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_u",
        "transcript": "Hey",
        "usage": {"type": "tokens", "total_tokens": 22},
    }
    assert GA.parse(completed) == ev.UserTranscript(
        item_id="item_u", text="Hey", usage={"type": "tokens", "total_tokens": 22}
    )
    assert VOICELIVE.parse({**completed, "usage": None}).usage is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "event", [None, [], "x", {"type": 5}, {"type": "rate_limits.updated"}, {"no": "type"}]
)
def test_anything_unknown_or_malformed_is_ignored(event: object) -> None:
    assert GA.parse(event) is None


def test_malformed_fields_do_not_raise() -> None:
    event = {
        "type": "response.done",
        "response": {"id": 7, "output": "x", "usage": [1], "status_details": None},
    }
    assert GA.parse(event) == ev.ResponseDone(response_id="", status="", reason="", usage=None, item_ids=())


def test_the_ga_session_update_has_session_type_and_nested_audio() -> None:
    update = GA.session_update(CONFIG)
    session = update["session"]

    assert update["type"] == "session.update"
    assert session["type"] == "realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["max_output_tokens"] == "inf"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "en"}
    assert session["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}
    for beta_field in ("modalities", "voice", "input_audio_format", "temperature", "turn_detection"):
        assert beta_field not in session


def test_the_beta_session_update_is_flat_with_audio_and_text_modalities() -> None:
    session = BETA.session_update(CONFIG)["session"]

    assert session["modalities"] == ["audio", "text"]
    assert (session["voice"], session["input_audio_format"], session["output_audio_format"]) == (
        "marin",
        "pcm16",
        "pcm16",
    )
    assert session["input_audio_transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "en"}
    assert session["max_response_output_tokens"] == "inf"
    for ga_field in ("type", "output_modalities", "audio", "max_output_tokens"):
        assert ga_field not in session


def test_voice_live_adds_its_own_session_fields() -> None:
    config = SessionConfig(
        instructions="x",
        voice={"name": "en-US-Ava:DragonHDLatestNeural", "type": "azure-standard"},
        turn_detection=TurnDetectionConfig(type="azure_semantic_vad"),
        transcription_model="azure-speech",
        noise_reduction="azure_deep_noise_suppression",
        echo_cancellation=True,
        max_output_tokens=800,
    )
    session = VOICELIVE.session_update(config)["session"]

    assert session["input_audio_sampling_rate"] == 24000
    assert session["input_audio_noise_reduction"] == {"type": "azure_deep_noise_suppression"}
    assert session["input_audio_echo_cancellation"] == {"type": "server_echo_cancellation"}
    assert session["voice"] == {"name": "en-US-Ava:DragonHDLatestNeural", "type": "azure-standard"}
    assert session["turn_detection"]["type"] == "azure_semantic_vad"
    assert session["max_response_output_tokens"] == 800


def test_push_to_talk_turns_detection_off() -> None:
    config = SessionConfig(
        instructions="x", voice="alloy", turn_detection=None, transcription_model="whisper-1"
    )

    assert GA.session_update(config)["session"]["audio"]["input"]["turn_detection"] is None
    assert BETA.session_update(config)["session"]["turn_detection"] is None


def test_history_items_use_each_dialects_assistant_content_type() -> None:
    assert GA.history_item("assistant", "Hi", "item_x")["item"]["content"] == [
        {"type": "output_text", "text": "Hi"}
    ]
    assert BETA.history_item("assistant", "Hi", "item_x")["item"]["content"] == [
        {"type": "text", "text": "Hi"}
    ]
    assert GA.history_item("user", "Yo", "item_y")["item"] == {
        "id": "item_y",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Yo"}],
    }
    json.dumps(GA.session_update(CONFIG))  # everything rendered is JSON
