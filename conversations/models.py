"""What is stored of every voice conversation: settings, turns in order, and token usage."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

TOKEN_FIELDS = (
    "input_text_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "cached_text_tokens",
    "cached_audio_tokens",
    "cached_image_tokens",
    "output_text_tokens",
    "output_audio_tokens",
    "input_tokens",
    "output_tokens",
    "total_tokens",
)


class TurnDetection(models.TextChoices):
    SERVER_VAD = "server_vad", "Server VAD"
    SEMANTIC_VAD = "semantic_vad", "Semantic VAD"
    AZURE_SEMANTIC_VAD = "azure_semantic_vad", "Azure semantic VAD"
    AZURE_SEMANTIC_VAD_EN = "azure_semantic_vad_en", "Azure semantic VAD (English)"
    AZURE_SEMANTIC_VAD_MULTILINGUAL = "azure_semantic_vad_multilingual", "Azure semantic VAD (multilingual)"
    NONE = "none", "Off (push to talk)"


class Eagerness(models.TextChoices):
    AUTO = "auto", "Auto"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class SessionSettings(models.Model):
    """A user's preferences for new voice sessions; blank fields fall back to server defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_settings"
    )
    voice = models.CharField(max_length=100, blank=True)
    instructions = models.TextField(blank=True, max_length=8000)
    turn_detection = models.CharField(
        max_length=40, choices=TurnDetection.choices, default=TurnDetection.SERVER_VAD
    )
    vad_threshold = models.FloatField(null=True, blank=True)
    vad_prefix_padding_ms = models.PositiveIntegerField(null=True, blank=True)
    vad_silence_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    vad_eagerness = models.CharField(max_length=10, choices=Eagerness.choices, default=Eagerness.AUTO)
    transcription_model = models.CharField(max_length=100, blank=True)
    transcription_language = models.CharField(max_length=16, blank=True)
    max_output_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty means no limit beyond the model's own."
    )
    provider_options = models.JSONField(
        default=dict, blank=True, help_text="Provider-specific extras, e.g. Azure noise suppression."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "session settings"
        verbose_name_plural = "session settings"

    def __str__(self) -> str:
        return f"Session settings of {self.user}"


class Conversation(models.Model):
    """One voice session with the model, from connect to end."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        INTERRUPTED = "interrupted", "Interrupted"
        FAILED = "failed", "Failed"

    class EndReason(models.TextChoices):
        USER_STOPPED = "user_stopped", "User stopped"
        CLIENT_DISCONNECTED = "client_disconnected", "Browser disconnected"
        IDLE_TIMEOUT = "idle_timeout", "Idle timeout"
        UPSTREAM_ERROR = "upstream_error", "Upstream error"
        UPSTREAM_CLOSED = "upstream_closed", "Upstream closed the connection"
        SESSION_EXPIRED = "session_expired", "Upstream session expired"
        AUTHENTICATION_FAILED = "authentication_failed", "Upstream refused authentication"
        LIMIT_REACHED = "limit_reached", "Limit reached"
        ENDED_BY_ADMIN = "ended_by_admin", "Ended by an administrator"
        SERVER_SHUTDOWN = "server_shutdown", "Server shut down"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=100, blank=True)
    voice = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    end_reason = models.CharField(max_length=40, choices=EndReason.choices, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    settings_snapshot = models.JSONField(default=dict, blank=True)
    upstream_session_id = models.CharField(max_length=100, blank=True)

    input_text_tokens = models.PositiveBigIntegerField(default=0)
    input_audio_tokens = models.PositiveBigIntegerField(default=0)
    input_image_tokens = models.PositiveBigIntegerField(default=0)
    cached_text_tokens = models.PositiveBigIntegerField(default=0)
    cached_audio_tokens = models.PositiveBigIntegerField(default=0)
    cached_image_tokens = models.PositiveBigIntegerField(default=0)
    output_text_tokens = models.PositiveBigIntegerField(default=0)
    output_audio_tokens = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=10, default=0)
    unpriced_usage_count = models.PositiveIntegerField(
        default=0, help_text="Usage records whose model has no price; their tokens are not in the cost."
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["owner", "-started_at"], name="conv_owner_started_idx"),
            models.Index(fields=["status", "-started_at"], name="conv_status_started_idx"),
        ]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.id}"

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end, or None while the conversation is active."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class Message(models.Model):
    """One turn of a conversation: a user utterance or typed text, or an assistant answer."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Kind(models.TextChoices):
        AUDIO = "audio", "Audio"
        TEXT = "text", "Text"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        INTERRUPTED = "interrupted", "Interrupted"
        TRANSCRIPTION_FAILED = "transcription_failed", "Transcription failed"

    # No index of its own: the unique constraints below lead with the conversation, and each
    # extra index is one more to update for every stored turn.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    position = models.PositiveIntegerField(help_text="Place in conversation order, from 1.")
    role = models.CharField(max_length=10, choices=Role.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    item_id = models.CharField(max_length=100, help_text="The upstream conversation item id.")
    response_id = models.CharField(max_length=100, blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.IN_PROGRESS)
    heard_text = models.TextField(
        blank=True, help_text="For an interrupted assistant turn: the part the user heard."
    )
    played_ms = models.PositiveIntegerField(null=True, blank=True)
    audio_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Not by "conversation": that would pull in Conversation's ordering and join its table.
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "position"], name="message_unique_position"),
            models.UniqueConstraint(fields=["conversation", "item_id"], name="message_unique_item"),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.position}"

    @property
    def was_interrupted(self) -> bool:
        return self.status == self.Status.INTERRUPTED


class Usage(models.Model):
    """Tokens reported by one upstream `response.done` or one input transcription, with its cost."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "Response"
        TRANSCRIPTION = "transcription", "Transcription"

    # Indexed by the unique constraint below, which leads with the conversation.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="usages", db_index=False
    )
    upstream_id = models.CharField(
        max_length=120, help_text="Response id, or the user item id for a transcription."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=100, blank=True)

    input_text_tokens = models.PositiveBigIntegerField(default=0)
    input_audio_tokens = models.PositiveBigIntegerField(default=0)
    input_image_tokens = models.PositiveBigIntegerField(default=0)
    cached_text_tokens = models.PositiveBigIntegerField(default=0)
    cached_audio_tokens = models.PositiveBigIntegerField(default=0)
    cached_image_tokens = models.PositiveBigIntegerField(default=0)
    output_text_tokens = models.PositiveBigIntegerField(default=0)
    output_audio_tokens = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.DecimalField(
        max_digits=10, decimal_places=3, null=True, blank=True, help_text="Duration-billed transcription."
    )
    cost = models.DecimalField(
        max_digits=18,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="Empty when the model has no price.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "upstream_id"], name="usage_unique_upstream_id"),
        ]
        indexes = [models.Index(fields=["created_at"], name="usage_created_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.upstream_id}"
