"""Forms of the conversation pages: session settings, renaming, and the history and usage filters.

The settings form only turns posted text into values: which values are allowed is decided by
`realtime.settings_rules.settings_errors`, the rules the API applies too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from conversations.models import Conversation, Eagerness, SessionSettings, TurnDetection
from conversations.services import session_settings_update
from realtime.providers import Provider
from realtime.settings_rules import MAX_INSTRUCTIONS_CHARS, SETTING_NAMES, settings_errors

NUMBER_FIELDS = ("vad_threshold", "vad_prefix_padding_ms", "vad_silence_duration_ms", "max_output_tokens")
# Provider options as form fields: "" leaves the option out (the provider's default).
NOISE_OFF = "off"
ECHO_CHOICES = (("", "Provider default"), ("on", "On"), ("off", "Off"))


def _choices(values: tuple[str, ...], labels: dict[str, str], current: str, default_label: str) -> list:
    """Select options for values a provider offers; a stored value it does not offer stays visible."""
    options = [("", default_label)] + [(value, labels.get(value, value)) for value in values]
    if current and current not in values:
        options.append((current, f"{labels.get(current, current)} (not offered by this provider)"))
    return options


def _number(raw: str) -> Any:
    """Posted text as a number when it reads as one; otherwise as given, for the rules to refuse."""
    raw = raw.strip()
    if not raw:
        return None
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


class SessionSettingsForm(forms.Form):
    """A user's session settings for the configured provider."""

    voice = forms.CharField(required=False, widget=forms.Select)
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_INSTRUCTIONS_CHARS}),
        help_text=f"Added to the server's instructions; at most {MAX_INSTRUCTIONS_CHARS} characters.",
    )
    turn_detection = forms.CharField(required=False, widget=forms.Select, label="Turn detection")
    vad_threshold = forms.CharField(
        required=False,
        label="Voice threshold",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="0 to 1: how loud speech must be (server VAD). Empty for the default.",
    )
    vad_prefix_padding_ms = forms.CharField(
        required=False,
        label="Audio kept before speech (ms)",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    vad_silence_duration_ms = forms.CharField(
        required=False,
        label="Silence that ends a turn (ms)",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    vad_eagerness = forms.CharField(required=False, widget=forms.Select, label="Eagerness (semantic VAD)")
    transcription_model = forms.CharField(required=False, widget=forms.Select)
    transcription_language = forms.CharField(
        required=False,
        label="Transcription language",
        help_text="A code such as en, de or pt-BR; empty to detect the language.",
    )
    max_output_tokens = forms.CharField(
        required=False,
        label="Answer length limit (tokens)",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    noise_reduction = forms.CharField(required=False, widget=forms.Select, label="Noise reduction")
    echo_cancellation = forms.ChoiceField(required=False, choices=ECHO_CHOICES, label="Echo cancellation")

    def __init__(self, *args: Any, provider: Provider, instance: SessionSettings, **kwargs: Any) -> None:
        kwargs.setdefault("initial", self._initial(instance))
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.instance = instance
        self.values: dict[str, Any] = {}
        self._offer_choices(provider, instance)
        self.fields[
            "max_output_tokens"
        ].help_text = f"1 to {provider.max_output_tokens}; empty for no limit beyond the model's."
        for name in ("noise_reduction", "echo_cancellation"):
            if name not in provider.option_names:
                del self.fields[name]

    @staticmethod
    def _initial(instance: SessionSettings) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(instance, name) for name in SETTING_NAMES if name != "provider_options"
        }
        options = instance.provider_options or {}
        for name in NUMBER_FIELDS:
            initial[name] = "" if initial[name] is None else initial[name]
        noise = options.get("noise_reduction")
        initial["noise_reduction"] = "" if noise is None else (noise or NOISE_OFF)
        echo = options.get("echo_cancellation")
        initial["echo_cancellation"] = "" if echo is None else ("on" if echo else "off")
        return initial

    def _offer_choices(self, provider: Provider, instance: SessionSettings) -> None:
        labels = dict(TurnDetection.choices)
        offers = {
            "voice": _choices(provider.voices, {}, instance.voice, f"Default ({provider.default_voice})"),
            "turn_detection": [(value, labels.get(value, value)) for value in provider.turn_detection_types],
            "vad_eagerness": list(Eagerness.choices),
            "transcription_model": _choices(
                provider.transcription_models,
                {},
                instance.transcription_model,
                f"Default ({provider.default_transcription_model})",
            ),
            "noise_reduction": [("", "Provider default"), (NOISE_OFF, "Off")]
            + [(value, value.replace("_", " ").capitalize()) for value in provider.noise_reductions],
        }
        if instance.turn_detection not in provider.turn_detection_types:
            offers["turn_detection"].append(
                (instance.turn_detection, f"{instance.get_turn_detection_display()} (not offered)")
            )
        for name, options in offers.items():
            self.fields[name].widget.choices = options

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values: dict[str, Any] = {
            "voice": data.get("voice", ""),
            "instructions": data.get("instructions", ""),
            "turn_detection": data.get("turn_detection", ""),
            "vad_eagerness": data.get("vad_eagerness", ""),
            "transcription_model": data.get("transcription_model", ""),
            "transcription_language": data.get("transcription_language", "").strip(),
            **{name: _number(data.get(name) or "") for name in NUMBER_FIELDS},
            "provider_options": self._provider_options(data),
        }
        for name, message in settings_errors(values, self.provider).items():
            self.add_error(self._field_for(name, message), message)
        self.values = values
        return data

    def _provider_options(self, data: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        noise = data.get("noise_reduction", "")
        if "noise_reduction" in self.fields and noise:
            options["noise_reduction"] = "" if noise == NOISE_OFF else noise
        echo = data.get("echo_cancellation", "")
        if "echo_cancellation" in self.fields and echo:
            options["echo_cancellation"] = echo == "on"
        return options

    def _field_for(self, setting: str, message: str) -> str | None:
        if setting != "provider_options":
            return setting if setting in self.fields else None
        for name in ("noise_reduction", "echo_cancellation"):
            if name in self.fields and message.startswith(name):
                return name
        return None

    def save(self, *, user: Any) -> SessionSettings | None:
        """Store the cleaned values; None (with errors added) when the model refuses them."""
        try:
            return session_settings_update(user=user, **self.values)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            return None


class RenameForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")


class HistoryFilterForm(forms.Form):
    """Search and filters of the history page; invalid values are ignored rather than refused."""

    q = forms.CharField(required=False, label="Search", max_length=200)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Conversation.Status.choices], label="Status"
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `conversation_list` (dates are whole days in the site's time zone)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        filters: dict[str, Any] = {"search": data["q"], "status": data["status"]}
        if data["date_from"]:
            filters["started_from"] = _start_of(data["date_from"])
        if data["date_to"]:
            filters["started_before"] = _start_of(data["date_to"] + dt.timedelta(days=1))
        return filters


class UsageRangeForm(forms.Form):
    """The days the usage page covers: the last 30 by default."""

    DEFAULT_DAYS = 30

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def dates(self) -> tuple[dt.date, dt.date]:
        """The first and last day to show, inclusive."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - dt.timedelta(days=self.DEFAULT_DAYS - 1)
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        return date_from, date_to


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
