"""The API's shapes: query parameters in, conversations, settings and usage out.

Session settings are validated by `realtime.settings_rules` for the configured provider, the one
set of rules the pages use too; the settings serializer only adds what any stored text needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.settings import api_settings

from conversations.models import TOKEN_FIELDS, Conversation, Eagerness, Message, SessionSettings, Usage
from realtime.providers import Provider
from realtime.settings_rules import (
    MAX_INSTRUCTIONS_CHARS,
    SETTING_NAMES,
    VAD_PREFIX_PADDING_MS,
    VAD_SILENCE_DURATION_MS,
    VAD_THRESHOLD,
    settings_errors,
)

MAX_USAGE_DAYS = 366
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)
DEFAULT_USAGE_DAYS = 30


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
                message = f"Unknown or read-only field; you may send: {writable}."
                raise serializers.ValidationError(dict.fromkeys(unknown, message))
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text that must be sent as a JSON string: DRF's CharField would turn 5 into "5"."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CredentialsSerializer(AuthTokenSerializer):
    """A username and password, as JSON or as a form."""

    username = StrictCharField(write_only=True)
    password = StrictCharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


# --- Query parameters -----------------------------------------------------------------------------


class QuerySerializer(serializers.Serializer):
    """Query parameters, read as given: an empty value is a value (DRF would treat it as absent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if isinstance(kwargs.get("data"), QueryDict):
            kwargs["data"] = kwargs["data"].dict()  # the last value of a repeated parameter
        super().__init__(*args, **kwargs)


class DateRangeQuerySerializer(QuerySerializer):
    """`from` and `to`: inclusive days (YYYY-MM-DD) in the server's time zone."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the two fields cannot be class attributes.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (inclusive).")
        fields["to"] = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD (inclusive).")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("from"), attrs.get("to")
        for name, day in (("from", first), ("to", last)):
            # Far days would overflow date arithmetic and time zone conversion.
            if day and not FIRST_DAY <= day <= LAST_DAY:
                raise serializers.ValidationError({name: f"Must be a day from {FIRST_DAY} to {LAST_DAY}."})
        if first and last and last < first:
            raise serializers.ValidationError({"to": "Must be on or after from."})
        return attrs


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of a day in the server's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class ConversationListQuerySerializer(DateRangeQuerySerializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words to find in titles and transcripts (case-insensitive).",
    )
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)

    def selector_filters(self) -> dict[str, Any]:
        """The validated parameters as `selectors.conversation_list` arguments."""
        data = self.validated_data
        first, last = data.get("from"), data.get("to")
        return {
            "search": data.get("search", ""),
            "status": data.get("status", ""),
            "started_from": day_start(first) if first else None,
            "started_before": day_start(last + dt.timedelta(days=1)) if last else None,
        }


class ExportQuerySerializer(QuerySerializer):
    format = serializers.ChoiceField(
        choices=["json", "md"], default="json", help_text="`json` (default) or `md` (Markdown)."
    )


class UsageQuerySerializer(DateRangeQuerySerializer):
    user = serializers.CharField(
        required=False,
        max_length=150,
        help_text=(
            "Staff only: a username or user id, or `all` for everyone. Others may only name "
            "themselves; naming anyone else is refused with 403."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Default to the last 30 days; at most 366 days at once."""
        attrs = super().validate(attrs)
        last = attrs.get("to") or timezone.localdate()
        first = attrs.get("from") or last - dt.timedelta(days=DEFAULT_USAGE_DAYS - 1)
        if last < first:
            raise serializers.ValidationError({"to": "Must be on or after from."})
        if (last - first).days + 1 > MAX_USAGE_DAYS:
            raise serializers.ValidationError({"from": f"The range may span at most {MAX_USAGE_DAYS} days."})
        return {**attrs, "from": first, "to": last}


# --- Conversations --------------------------------------------------------------------------------


class UsageTotalsSerializer(serializers.Serializer):
    """Token counts by kind and the cost of a conversation (or of a day)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = {
            name: serializers.IntegerField(read_only=True) for name in TOKEN_FIELDS
        }
        fields["cost"] = serializers.DecimalField(
            max_digits=18, decimal_places=10, read_only=True, help_text="USD, of the priced reports."
        )
        fields["unpriced_usage_count"] = serializers.IntegerField(
            read_only=True, help_text="Usage reports of a model without a price: their tokens have no cost."
        )
        return fields


class ConversationSerializer(serializers.ModelSerializer):
    """A conversation in a list: no turns, only counts and totals."""

    end_reason = serializers.ChoiceField(
        choices=Conversation.EndReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty while active.",
    )
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    message_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Conversation
        fields = (
            "id",
            "title",
            "status",
            "end_reason",
            "provider",
            "model",
            "voice",
            "started_at",
            "ended_at",
            "duration_seconds",
            "message_count",
            "total_tokens",
            "cost",
        )
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    interrupted = serializers.BooleanField(source="was_interrupted", read_only=True)

    class Meta:
        model = Message
        fields = (
            "position",
            "role",
            "kind",
            "status",
            "text",
            "interrupted",
            "heard_text",
            "played_ms",
            "audio_duration_ms",
            "created_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "heard_text": {"help_text": "Of an interrupted answer: the part the user heard."},
            "played_ms": {"help_text": "Of an interrupted answer: how much audio was played."},
        }


class ConversationDetailSerializer(ConversationSerializer):
    """One conversation with every turn in conversation order and its usage totals."""

    message_count = serializers.IntegerField(source="messages.count", read_only=True)
    messages = MessageSerializer(many=True, read_only=True)
    usage = UsageTotalsSerializer(source="*", read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = (*ConversationSerializer.Meta.fields, "messages", "usage")
        read_only_fields = fields


class ConversationRenameSerializer(StrictSerializer):
    """What may change in a conversation: its title. Other fields are refused."""

    # Not trimmed here: the length limit applies to the text as sent, and the rename collapses it.
    title = StrictCharField(
        max_length=200, trim_whitespace=False, help_text="The new title; whitespace runs become one space."
    )


class UsageRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = Usage
        fields = ("kind", "model", "status", *TOKEN_FIELDS, "cost", "created_at")
        read_only_fields = fields


class ExportUsageSerializer(serializers.Serializer):
    totals = UsageTotalsSerializer()
    reports = UsageRecordSerializer(many=True, help_text="One per upstream usage report, oldest first.")


EXPORTED_CONVERSATION_FIELDS = tuple(
    name
    for name in ConversationSerializer.Meta.fields
    if name not in {"message_count", "total_tokens", "cost"}
)


class ConversationExportSerializer(ConversationSerializer):
    """A conversation exported as JSON: every turn in order, interruptions, usage totals and reports."""

    # Only documents what `exports.conversation_export` builds.
    export_version = serializers.IntegerField()
    messages = MessageSerializer(many=True)
    usage = ExportUsageSerializer()

    class Meta(ConversationSerializer.Meta):
        fields = ("export_version", *EXPORTED_CONVERSATION_FIELDS, "messages", "usage")
        read_only_fields = fields


# --- Session settings -----------------------------------------------------------------------------


def unstorable_fields(values: Mapping[str, Any]) -> dict[str, str]:
    """Settings whose text no database should be asked to store (NUL, unpaired surrogates)."""
    return {
        name: "Must not contain NUL or unpaired surrogate characters."
        for name, value in values.items()
        if name in SETTING_NAMES and not _storable(value)
    }


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


class SessionSettingsSerializer(serializers.ModelSerializer):
    """Your settings for new voice sessions. What is allowed depends on the provider: see
    `GET /api/settings/options/`; a value it does not accept is answered with 400 and a message
    for that field saying what is allowed."""

    # Input is checked only by `settings_errors` for the provider passed as context "provider";
    # the declared fields describe the shape for the schema and the output.

    instructions = serializers.CharField(
        allow_blank=True,
        max_length=MAX_INSTRUCTIONS_CHARS,
        help_text="Your own instructions; they extend the server's, never replace them.",
    )
    voice = serializers.CharField(
        allow_blank=True, max_length=100, help_text="One of the provider's voices; empty for its default."
    )
    turn_detection = serializers.CharField(help_text="One of the provider's `turn_detection_types`.")
    vad_threshold = serializers.FloatField(
        allow_null=True, min_value=VAD_THRESHOLD[0], max_value=VAD_THRESHOLD[1], help_text="Null: default."
    )
    vad_prefix_padding_ms = serializers.IntegerField(
        allow_null=True, min_value=VAD_PREFIX_PADDING_MS[0], max_value=VAD_PREFIX_PADDING_MS[1]
    )
    vad_silence_duration_ms = serializers.IntegerField(
        allow_null=True, min_value=VAD_SILENCE_DURATION_MS[0], max_value=VAD_SILENCE_DURATION_MS[1]
    )
    vad_eagerness = serializers.ChoiceField(choices=Eagerness.choices)
    transcription_model = serializers.CharField(
        allow_blank=True, help_text="One of the provider's `transcription_models`; empty for its default."
    )
    transcription_language = serializers.CharField(
        allow_blank=True, max_length=16, help_text="A language code such as en or pt-BR; empty to detect."
    )
    max_output_tokens = serializers.IntegerField(
        allow_null=True, min_value=1, help_text="At most the provider's limit; null for no limit of ours."
    )
    provider_options = serializers.DictField(
        help_text="Provider extras, e.g. `noise_reduction`; see `provider_options` in the options."
    )

    class Meta:
        model = SessionSettings
        fields = (*SETTING_NAMES, "updated_at")
        read_only_fields = ("updated_at",)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            message = "The body must be a JSON object of settings."
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        errors = (
            {} if self.partial else {n: "This field is required." for n in SETTING_NAMES if n not in data}
        )
        errors |= settings_errors(dict(data), self.context["provider"])
        errors = unstorable_fields(data) | errors
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)


# --- What the provider offers ---------------------------------------------------------------------


def settings_options(provider: Provider) -> dict[str, Any]:
    """Everything a settings form needs to offer only what the configured provider accepts."""
    return {
        "provider": provider.name,
        "model": provider.model,
        "voices": list(provider.voices),
        "default_voice": provider.default_voice,
        "turn_detection_types": list(provider.turn_detection_types),
        "vad_eagerness": list(Eagerness.values),
        "transcription_models": list(provider.transcription_models),
        "default_transcription_model": provider.default_transcription_model,
        "provider_options": list(provider.option_names),
        "noise_reductions": list(provider.noise_reductions),
        "ranges": {
            "vad_threshold": {"min": VAD_THRESHOLD[0], "max": VAD_THRESHOLD[1]},
            "vad_prefix_padding_ms": {"min": VAD_PREFIX_PADDING_MS[0], "max": VAD_PREFIX_PADDING_MS[1]},
            "vad_silence_duration_ms": {"min": VAD_SILENCE_DURATION_MS[0], "max": VAD_SILENCE_DURATION_MS[1]},
            "max_output_tokens": {"min": 1, "max": provider.max_output_tokens},
            "instructions_length": {"min": 0, "max": MAX_INSTRUCTIONS_CHARS},
        },
    }


class NumberRangeSerializer(serializers.Serializer):
    min = serializers.FloatField()
    max = serializers.FloatField()


class WholeNumberRangeSerializer(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()


class SettingRangesSerializer(serializers.Serializer):
    vad_threshold = NumberRangeSerializer()
    vad_prefix_padding_ms = WholeNumberRangeSerializer()
    vad_silence_duration_ms = WholeNumberRangeSerializer()
    max_output_tokens = WholeNumberRangeSerializer()
    instructions_length = WholeNumberRangeSerializer()


class SettingsOptionsSerializer(serializers.Serializer):
    provider = serializers.CharField()
    model = serializers.CharField()
    voices = serializers.ListField(
        child=serializers.CharField(),
        help_text="Voices to offer (Azure Voice Live takes any Azure neural voice).",
    )
    default_voice = serializers.CharField()
    turn_detection_types = serializers.ListField(child=serializers.CharField())
    vad_eagerness = serializers.ListField(child=serializers.CharField())
    transcription_models = serializers.ListField(child=serializers.CharField())
    default_transcription_model = serializers.CharField()
    provider_options = serializers.ListField(
        child=serializers.CharField(), help_text="Keys `provider_options` may hold."
    )
    noise_reductions = serializers.ListField(
        child=serializers.CharField(), help_text="Values of `provider_options.noise_reduction`."
    )
    ranges = SettingRangesSerializer(help_text="Inclusive bounds of the numeric settings.")


# --- Usage ----------------------------------------------------------------------------------------


class UsageDaySerializer(UsageTotalsSerializer):
    """Tokens by kind and cost of one day (or of the whole range, without `day`)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {"day": serializers.DateField(read_only=True), **super().get_fields()}
        del fields["unpriced_usage_count"]
        fields["reports"] = serializers.IntegerField(read_only=True, help_text="Usage reports.")
        fields["unpriced"] = serializers.IntegerField(
            read_only=True, help_text="Reports of a model without a price: their tokens have no cost."
        )
        return fields


class UsageTotalRangeSerializer(UsageDaySerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        del fields["day"]
        return fields


class UsageSerializer(serializers.Serializer):
    """Usage per day over a range, for one user or (staff) everyone."""

    user = serializers.CharField(allow_null=True, help_text="The username; null for all users.")
    days = UsageDaySerializer(
        many=True, help_text="Days with usage, oldest first; days without are left out."
    )
    totals = UsageTotalRangeSerializer(help_text="The sums over the range.")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(help_text="First day of the range."),
            "to": serializers.DateField(help_text="Last day of the range."),
            **super().get_fields(),
        }


def usage_report(*, days: list[dict[str, Any]], first: dt.date, last: dt.date, username: str | None) -> dict:
    """The usage answer: the rows of `selectors.usage_by_day` and their sums."""
    numbers = (*TOKEN_FIELDS, "cost", "reports", "unpriced")
    totals = {name: sum((row[name] for row in days), start=0) for name in numbers}
    return {"from": first, "to": last, "user": username, "days": days, "totals": totals}
