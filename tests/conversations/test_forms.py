"""The page forms: settings go through the provider's rules; filters read dates as whole days."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from conversations.forms import HistoryFilterForm, RenameForm, SessionSettingsForm, UsageRangeForm
from conversations.models import SessionSettings
from conversations.services import session_settings_for
from realtime.providers import get_provider
from realtime.settings_rules import settings_errors
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> Any:
    return make_user()


def form_for(user: Any, provider_name: str = "simulator", **posted: str) -> SessionSettingsForm:
    data = {"turn_detection": "server_vad", "vad_eagerness": "auto", **posted}
    provider = get_provider(provider_name)
    return SessionSettingsForm(data, provider=provider, instance=session_settings_for(user=user))


def test_blank_fields_mean_the_defaults(user: Any) -> None:
    form = form_for(user)

    assert form.is_valid(), form.errors
    assert form.values == {
        "voice": "",
        "instructions": "",
        "turn_detection": "server_vad",
        "vad_eagerness": "auto",
        "transcription_model": "",
        "transcription_language": "",
        "vad_threshold": None,
        "vad_prefix_padding_ms": None,
        "vad_silence_duration_ms": None,
        "max_output_tokens": None,
        "provider_options": {},
    }


def test_numbers_are_read_as_numbers(user: Any) -> None:
    form = form_for(user, vad_threshold=" 0.25 ", vad_prefix_padding_ms="300", max_output_tokens="1000")

    assert form.is_valid(), form.errors
    assert form.values["vad_threshold"] == 0.25
    assert form.values["vad_prefix_padding_ms"] == 300
    assert form.values["max_output_tokens"] == 1000


@pytest.mark.parametrize(
    ("field", "posted", "value"),
    [
        ("vad_threshold", "1.5", 1.5),
        ("vad_prefix_padding_ms", "lots", "lots"),
        ("max_output_tokens", "0", 0),
        ("voice", "robot", "robot"),
        ("transcription_language", "EN", "EN"),
        ("turn_detection", "", ""),
    ],
)
def test_every_refusal_is_the_rules_own_message(user: Any, field: str, posted: str, value: Any) -> None:
    provider = get_provider("simulator")
    form = form_for(user, **{field: posted})

    assert not form.is_valid()
    assert form.errors[field] == [settings_errors({field: value}, provider)[field]]


def test_a_valid_form_saves_through_the_service(user: Any) -> None:
    form = form_for(user, voice="sage", instructions="Be kind.", vad_silence_duration_ms="600")

    assert form.is_valid(), form.errors
    saved = form.save(user=user)

    assert saved is not None
    stored = SessionSettings.objects.get(user=user)
    assert (stored.voice, stored.instructions, stored.vad_silence_duration_ms) == ("sage", "Be kind.", 600)


def test_voice_live_offers_its_voices_and_audio_options(user: Any) -> None:
    form = form_for(
        user,
        "azure_voicelive",
        voice="en-US-Ava:DragonHDLatestNeural",
        turn_detection="azure_semantic_vad",
        noise_reduction="azure_deep_noise_suppression",
        echo_cancellation="off",
    )

    assert form.is_valid(), form.errors
    assert form.values["provider_options"] == {
        "noise_reduction": "azure_deep_noise_suppression",
        "echo_cancellation": False,
    }
    voices = [value for value, _ in form.fields["voice"].widget.choices]
    assert "en-US-Ava:DragonHDLatestNeural" in voices
    detection = [value for value, _ in form.fields["turn_detection"].widget.choices]
    assert "azure_semantic_vad_multilingual" in detection


def test_noise_reduction_off_is_stored_as_none_and_default_leaves_it_out(user: Any) -> None:
    off = form_for(user, "azure_voicelive", noise_reduction="off")
    default = form_for(user, "azure_voicelive", noise_reduction="", echo_cancellation="")

    assert off.is_valid()
    assert default.is_valid()
    assert off.values["provider_options"] == {"noise_reduction": ""}
    assert default.values["provider_options"] == {}


def test_an_option_the_provider_lacks_is_not_offered(user: Any) -> None:
    form = form_for(user, "openai", echo_cancellation="on")

    assert "echo_cancellation" not in form.fields
    assert form.is_valid(), form.errors
    assert form.values["provider_options"] == {}


def test_the_form_starts_from_the_stored_settings(user: Any) -> None:
    stored = session_settings_for(user=user)
    stored.voice = "retired-voice"
    stored.vad_threshold = 0.7
    stored.provider_options = {"noise_reduction": "", "echo_cancellation": True}
    stored.save()

    form = SessionSettingsForm(provider=get_provider("azure_voicelive"), instance=stored)

    assert form.initial["voice"] == "retired-voice"
    assert form.initial["vad_threshold"] == 0.7
    assert form.initial["noise_reduction"] == "off"
    assert form.initial["echo_cancellation"] == "on"
    labels = dict(form.fields["voice"].widget.choices)
    assert labels["retired-voice"] == "retired-voice (not offered by this provider)"


def test_rename_needs_a_title() -> None:
    assert not RenameForm({"title": ""}).is_valid()
    assert RenameForm({"title": "Fine"}).is_valid()


def test_history_filters_cover_whole_days() -> None:
    form = HistoryFilterForm(
        {"q": " apples ", "status": "completed", "date_from": "2025-03-01", "date_to": "2025-03-02"}
    )

    filters = form.filters()

    assert filters["search"] == "apples"
    assert filters["status"] == "completed"
    assert filters["started_from"] == timezone.make_aware(dt.datetime(2025, 3, 1))
    assert filters["started_before"] == timezone.make_aware(dt.datetime(2025, 3, 3))


def test_history_filters_that_do_not_parse_filter_nothing() -> None:
    assert HistoryFilterForm({"date_from": "soon"}).filters() == {}
    assert HistoryFilterForm(None).filters() == {}


def test_usage_range_defaults_to_thirty_days_and_orders_its_ends() -> None:
    today = timezone.localdate()

    assert UsageRangeForm(None).dates() == (today - dt.timedelta(days=29), today)
    assert UsageRangeForm({"date_from": "2025-05-10", "date_to": "2025-05-01"}).dates() == (
        dt.date(2025, 5, 1),
        dt.date(2025, 5, 10),
    )
    assert UsageRangeForm({"date_to": "2025-05-31"}).dates() == (dt.date(2025, 5, 2), dt.date(2025, 5, 31))
