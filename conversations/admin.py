"""Admin for reviewing conversations, their transcripts and usage, and editing session settings.

Conversations, turns and usage are a record of what happened, so they are view-only: nobody adds
or edits them here, and only superusers delete a conversation (its turns and usage go with it).
Every list is fetched with its related rows and counts up front, so page queries do not grow with
the number of rows.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from conversations import exports
from conversations.models import TOKEN_FIELDS, Conversation, Message, SessionSettings, Usage

COST_PLACES = Decimal("1e-7")
COST_MIN_PLACES = 4


# --- Display helpers ------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """`1 h 02 min`, `3 min 05 s` or `42 s`; empty for an unknown duration."""
    if seconds is None:
        return ""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_cost(cost: Decimal | None) -> str:
    """US dollars with 4 to 7 decimals: `$0.0069656`, `$1.2500`; "no price" for an unpriced report."""
    if cost is None:
        return "no price"
    text = f"{cost.quantize(COST_PLACES, rounding=ROUND_HALF_UP):f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(COST_MIN_PLACES, "0")
    return f"${whole}.{decimals}"


def _message_count() -> Coalesce:
    """The number of a conversation's turns, as a subquery.

    A subquery rather than `Count("messages")`: a join would need GROUP BY on every query built
    from the admin queryset (filter choices, counts, the date hierarchy), and a search on
    transcript text joins messages again, which would multiply a joined count.
    """
    turns = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(turns), 0)


def _csv_response(filename: str) -> HttpResponse:
    """An empty CSV download for an export to write into."""
    return HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export_name(kind: str) -> str:
    return f"{kind}-{timezone.now():%Y%m%d-%H%M%S}.csv"


# --- Conversations --------------------------------------------------------------------------------


class MessageInline(admin.TabularInline):
    """The transcript, in conversation order, with interruptions marked."""

    model = Message
    verbose_name = "turn"
    verbose_name_plural = "transcript"
    fields = ("position", "role", "kind", "turn_status", "text", "heard_text", "played_ms", "created_at")
    readonly_fields = fields
    ordering = ("position",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status")
    def turn_status(self, message: Message) -> str | SafeString:
        """The turn's status; an interruption shows what the user heard before cutting in."""
        if message.was_interrupted:
            played = "" if message.played_ms is None else f" after {message.played_ms} ms"
            return format_html(
                '<strong title="Interrupted{}">⚡ interrupted</strong> — heard: “{}”',
                played,
                message.heard_text or "nothing",
            )
        if message.status == Message.Status.TRANSCRIPTION_FAILED:
            return format_html("✖ transcription failed {}", message.error_code)
        return message.get_status_display()


class UsageInline(admin.TabularInline):
    """Every usage report of the conversation with its tokens and cost."""

    model = Usage
    verbose_name = "usage report"
    verbose_name_plural = "usage reports"
    fields = ("created_at", "upstream_id", "kind", "status", "model", *TOKEN_FIELDS, "usage_cost")
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="cost")
    def usage_cost(self, usage: Usage) -> str:
        return format_cost(usage.cost)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Conversations with their owner, length, tokens and cost; the detail is the transcript."""

    list_display = (
        "__str__",
        "owner",
        "started_at",
        "duration",
        "status",
        "provider",
        "model",
        "message_count",
        "tokens",
        "total_cost",
    )
    list_filter = ("status", "provider", "model", "started_at")
    list_select_related = ("owner",)
    date_hierarchy = "started_at"
    search_fields = ("=id", "owner__username", "owner__email", "title", "messages__text")
    search_help_text = "Owner username or email, title, words from the transcript, or an exact id."
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("id", "owner"),
                    "title",
                    ("status", "end_reason"),
                    ("started_at", "ended_at", "duration"),
                    ("provider", "model", "voice"),
                    "upstream_session_id",
                    "message_count",
                )
            },
        ),
        (
            "Usage",
            {
                "fields": (
                    ("input_tokens", "input_text_tokens", "input_audio_tokens", "input_image_tokens"),
                    ("cached_text_tokens", "cached_audio_tokens", "cached_image_tokens"),
                    ("output_tokens", "output_text_tokens", "output_audio_tokens"),
                    ("total_tokens", "total_cost", "unpriced_usage_count"),
                )
            },
        ),
        ("Settings at start", {"classes": ("collapse",), "fields": ("settings_snapshot",)}),
    )
    readonly_fields = (
        *(field.name for field in Conversation._meta.fields),
        "duration",
        "message_count",
        "total_cost",
    )
    inlines = (MessageInline, UsageInline)
    actions = ("export_conversations_csv", "export_transcripts_csv")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        """Conversations with their message count and length (for sorting) in the same query."""
        return (
            super()
            .get_queryset(request)
            .annotate(
                message_count=_message_count(),
                elapsed=ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField()),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Usage rows go with their conversation, although none may be deleted on its own."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Usage._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    @admin.display(description="duration", ordering="elapsed")
    def duration(self, conversation: Conversation) -> str:
        return format_duration(conversation.duration_seconds)

    @admin.display(description="messages", ordering="message_count")
    def message_count(self, conversation: Conversation) -> int:
        return conversation.message_count  # type: ignore[attr-defined]

    @admin.display(description="tokens", ordering="total_tokens")
    def tokens(self, conversation: Conversation) -> int:
        return conversation.total_tokens

    @admin.display(description="cost", ordering="cost")
    def total_cost(self, conversation: Conversation) -> str | SafeString:
        """The priced cost; a warning mark says some usage had no price and is not included."""
        cost = format_cost(conversation.cost)
        unpriced = conversation.unpriced_usage_count
        if not unpriced:
            return cost
        return format_html(
            '{} <span title="{} usage record(s) had no price; their tokens are not in the cost.">'
            "⚠ +{} unpriced</span>",
            cost,
            unpriced,
            unpriced,
        )

    @admin.action(description="Export selected conversations as CSV")
    def export_conversations_csv(
        self, request: HttpRequest, queryset: QuerySet[Conversation]
    ) -> HttpResponse:
        """One row per conversation, with owners joined and message counts from get_queryset()."""
        response = _csv_response(_export_name("conversations"))
        exports.write_conversations_csv(response, queryset.select_related("owner"))
        return response

    @admin.action(description="Export transcripts of selected conversations as CSV")
    def export_transcripts_csv(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> HttpResponse:
        """One row per turn, conversation by conversation, newest conversation first."""
        messages = Message.objects.filter(conversation__in=queryset.order_by().values("pk")).order_by(
            "-conversation__started_at", "conversation_id", "position"
        )
        response = _csv_response(_export_name("transcripts"))
        exports.write_transcripts_csv(response, messages.iterator(chunk_size=2000))
        return response


# --- Usage ----------------------------------------------------------------------------------------


@admin.register(Usage)
class UsageAdmin(admin.ModelAdmin):
    """Usage reports across conversations; view-only, since the conversation totals are their sum."""

    list_display = (
        "conversation",
        "owner",
        "upstream_id",
        "kind",
        "status",
        "model",
        "total_tokens",
        "usage_cost",
        "created_at",
    )
    list_filter = ("kind", "status", "model", "created_at")
    list_select_related = ("conversation__owner",)
    ordering = ("-created_at", "-id")
    search_fields = ("upstream_id", "conversation__id", "conversation__owner__username")
    search_help_text = "Upstream id, conversation id or owner username."
    readonly_fields = (*(field.name for field in Usage._meta.fields), "usage_cost")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting one report would leave its conversation's totals counting it.
        return False

    @admin.display(description="owner", ordering="conversation__owner__username")
    def owner(self, usage: Usage) -> Any:
        return usage.conversation.owner

    @admin.display(description="cost", ordering="cost")
    def usage_cost(self, usage: Usage) -> str:
        return format_cost(usage.cost)


# --- Session settings -----------------------------------------------------------------------------


@admin.register(SessionSettings)
class SessionSettingsAdmin(admin.ModelAdmin):
    """Users' preferences for new sessions; editable, validated by the model form."""

    list_display = (
        "user",
        "voice",
        "turn_detection",
        "transcription_model",
        "transcription_language",
        "max_output_tokens",
        "updated_at",
    )
    list_filter = ("turn_detection",)
    list_select_related = ("user",)
    ordering = ("user__username",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    readonly_fields = ("updated_at",)
