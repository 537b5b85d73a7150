"""One set of rules for a user's session settings, per provider, with errors that say what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.providers.azure_voicelive import AzureVoiceLiveProvider
from realtime.providers.openai import OpenAIProvider
from realtime.settings_rules import settings_errors

OPENAI = OpenAIProvider(url="wss://x", api_key="k", model="gpt-realtime")
VOICELIVE = AzureVoiceLiveProvider(endpoint="wss://x", api_key="k", model="gpt-realtime", api_version="v")

GOOD = {
    "voice": "marin",
    "instructions": "Call me Ann.",
    "turn_detection": "semantic_vad",
    "vad_threshold": 0.6,
    "vad_prefix_padding_ms": 300,
    "vad_silence_duration_ms": 500,
    "vad_eagerness": "high",
    "transcription_model": "gpt-4o-transcribe",
    "transcription_language": "pt-BR",
    "max_output_tokens": 4096,
    "provider_options": {"noise_reduction": "far_field"},
}


def test_good_settings_have_no_errors() -> None:
    assert settings_errors(GOOD, OPENAI) == {}


def test_empty_values_mean_defaults() -> None:
    defaults = {
        "voice": "",
        "transcription_model": "",
        "transcription_language": "",
        "max_output_tokens": None,
    }
    assert settings_errors(defaults, OPENAI) == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("voice", "en-US-Ava:DragonHDLatestNeural", "Must be a voice openai offers, such as: alloy,"),
        ("instructions", "x" * 4001, "Must be text of at most 4000 characters."),
        ("turn_detection", "azure_semantic_vad", "Must be one of: server_vad, semantic_vad, none."),
        ("vad_threshold", 1.5, "Must be a number from 0 to 1, or empty for the default."),
        ("vad_threshold", True, "Must be a number from 0 to 1"),
        ("vad_prefix_padding_ms", 2500, "Must be a whole number from 0 to 2000 ms"),
        ("vad_silence_duration_ms", 50, "Must be a whole number from 100 to 5000 ms"),
        ("vad_eagerness", "eager", "Must be one of: auto, low, medium, high."),
        ("transcription_model", "azure-speech", "Must be one of: gpt-4o-mini-transcribe,"),
        ("transcription_language", "English", "Must be a language code such as en, de or pt-BR"),
        ("transcription_language", "en\n", "Must be a language code such as en, de or pt-BR"),
        ("instructions", "be\x00nice", "Must not contain NUL or unpaired surrogate characters."),
        ("instructions", "bad \ud800 half", "Must not contain NUL or unpaired surrogate characters."),
        ("max_output_tokens", 0, "Must be a whole number from 1 to 4096 tokens"),
        ("max_output_tokens", 1.5, "Must be a whole number from 1 to 4096 tokens"),
        ("provider_options", {"echo_cancellation": True}, "Unknown option 'echo_cancellation'; openai takes"),
        (
            "provider_options",
            {"noise_reduction": "loud"},
            "noise_reduction must be one of: near_field, far_field",
        ),
        ("provider_options", [], "Must be an object."),
        ("temperature", 0.8, "Unknown setting. Settings are: voice,"),
    ],
)
def test_each_bad_value_is_named_with_what_is_allowed(field: str, value: Any, message: str) -> None:
    errors = settings_errors({field: value}, OPENAI)

    assert list(errors) == [field]
    assert errors[field].startswith(message)


def test_voice_live_accepts_azure_voices_vad_and_options() -> None:
    values = {
        "voice": "en-GB-SoniaNeural",
        "turn_detection": "azure_semantic_vad_multilingual",
        "transcription_model": "azure-speech",
        "provider_options": {"noise_reduction": "azure_deep_noise_suppression", "echo_cancellation": False},
    }
    assert settings_errors(values, VOICELIVE) == {}
    assert (
        "echo_cancellation"
        in settings_errors({"provider_options": {"echo_cancellation": "yes"}}, VOICELIVE)["provider_options"]
    )
