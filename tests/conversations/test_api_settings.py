"""Session settings over the API: validated by the provider's rules, one message per field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from conversations.models import SessionSettings
from realtime.providers import get_provider
from realtime.settings_rules import SETTING_NAMES, settings_errors
from tests.factories import make_user, token_client

pytestmark = pytest.mark.django_db

URL = "/api/settings/"
OPTIONS = "/api/settings/options/"

FULL = {
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


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def ann() -> Any:
    return make_user("ann")


@pytest.fixture
def api(ann: Any) -> Any:
    return token_client(ann)


@pytest.fixture
def voicelive(settings: Any) -> None:
    settings.REALTIME_PROVIDER = "azure_voicelive"
    settings.AZURE_VOICELIVE_ENDPOINT = "wss://voicelive.example"
    settings.AZURE_VOICELIVE_API_KEY = "key"
    settings.AZURE_VOICELIVE_MODEL = "gpt-realtime"


def test_new_users_read_the_defaults(api: Any) -> None:
    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {*SETTING_NAMES, "updated_at"}
    assert body["voice"] == ""
    assert body["turn_detection"] == "server_vad"
    assert body["max_output_tokens"] is None
    assert body["provider_options"] == {}


def test_patch_changes_only_what_is_sent(ann: Any, api: Any) -> None:
    api.patch(URL, {"instructions": "Be brief."}, format="json")

    response = api.patch(URL, {"voice": "cedar", "vad_threshold": 0.7}, format="json")

    assert response.status_code == 200
    assert response.json()["voice"] == "cedar"
    stored = SessionSettings.objects.get(user=ann)
    assert (stored.voice, stored.vad_threshold, stored.instructions) == ("cedar", 0.7, "Be brief.")


def test_put_replaces_everything(ann: Any, api: Any) -> None:
    response = api.put(URL, FULL, format="json")

    assert response.status_code == 200
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == FULL
    assert SessionSettings.objects.get(user=ann).transcription_language == "pt-BR"


def test_put_needs_every_setting(api: Any) -> None:
    response = api.put(URL, {"voice": "marin"}, format="json")

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == set(SETTING_NAMES) - {"voice"}
    assert fields["instructions"] == "This field is required."


@pytest.mark.parametrize(
    "changes",
    [
        {"voice": "en-US-Ava:DragonHDLatestNeural"},
        {"instructions": "x" * 4001},
        {"turn_detection": "azure_semantic_vad"},
        {"vad_threshold": 1.5},
        {"vad_prefix_padding_ms": -1},
        {"vad_silence_duration_ms": 99},
        {"vad_eagerness": "eager"},
        {"transcription_model": "azure-speech"},
        {"transcription_language": "english"},
        {"max_output_tokens": 5000},
        {"provider_options": {"echo_cancellation": True}},
        {"temperature": 0.8},
    ],
)
def test_each_invalid_setting_gets_the_rules_message(ann: Any, api: Any, changes: dict[str, Any]) -> None:
    response = api.patch(URL, changes, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == settings_errors(changes, get_provider())
    assert not SessionSettings.objects.filter(user=ann).exclude(voice="").exists()


def test_errors_name_the_field_and_the_allowed_range(api: Any) -> None:
    response = api.patch(URL, {"vad_threshold": 2, "max_output_tokens": 0, "voice": "marin"}, format="json")

    assert response.json()["error"]["fields"] == {
        "vad_threshold": "Must be a number from 0 to 1, or empty for the default.",
        "max_output_tokens": "Must be a whole number from 1 to 4096 tokens, or empty for the default.",
    }
    assert (
        response.json()["error"]["message"] == "Some fields are not valid: vad_threshold, max_output_tokens."
    )


def test_text_no_database_can_store_is_refused(ann: Any, api: Any) -> None:
    response = api.patch(URL, {"instructions": "a\x00b", "transcription_language": ""}, format="json")
    surrogate = api.patch(URL, b'{"instructions": "a\\ud800b"}', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "instructions": "Must not contain NUL or unpaired surrogate characters."
    }
    assert surrogate.status_code == 400
    assert not SessionSettings.objects.filter(user=ann).exclude(instructions="").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "The body must be a JSON object of settings."),
        (b'"voice"', "The body must be a JSON object of settings."),
        (b"null", "No data provided"),
    ],
)
def test_the_body_must_be_an_object(api: Any, body: bytes, message: str) -> None:
    response = api.patch(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "validation_error", "message": message, "fields": {}}


def test_an_empty_value_means_the_providers_default(api: Any) -> None:
    api.patch(URL, {"voice": "cedar", "max_output_tokens": 100}, format="json")

    response = api.patch(URL, {"voice": "", "max_output_tokens": None}, format="json")

    assert (response.json()["voice"], response.json()["max_output_tokens"]) == ("", None)


def test_the_options_show_what_the_simulator_accepts(api: Any) -> None:
    response = api.get(OPTIONS)

    assert response.status_code == 200
    body = response.json()
    assert body["provider"] == "simulator"
    assert "marin" in body["voices"]
    assert body["turn_detection_types"] == ["server_vad", "semantic_vad", "none"]
    assert body["vad_eagerness"] == ["auto", "low", "medium", "high"]
    ranges = response.content.decode()
    assert '"vad_threshold":{"min":0.0,"max":1.0}' in ranges
    assert '"vad_silence_duration_ms":{"min":100,"max":5000}' in ranges
    assert '"max_output_tokens":{"min":1,"max":4096}' in ranges
    assert '"instructions_length":{"min":0,"max":4000}' in ranges


@pytest.mark.usefixtures("voicelive")
def test_options_and_rules_follow_the_configured_provider(api: Any) -> None:
    options = api.get(OPTIONS).json()
    accepted = api.patch(
        URL,
        {
            "voice": "en-GB-SoniaNeural",
            "turn_detection": "azure_semantic_vad",
            "provider_options": {
                "noise_reduction": "azure_deep_noise_suppression",
                "echo_cancellation": True,
            },
        },
        format="json",
    )

    assert options["provider"] == "azure_voicelive"
    assert "azure_semantic_vad_multilingual" in options["turn_detection_types"]
    assert options["default_transcription_model"] == "azure-speech"
    assert options["provider_options"] == ["noise_reduction", "echo_cancellation"]
    assert accepted.status_code == 200
    assert accepted.json()["voice"] == "en-GB-SoniaNeural"
