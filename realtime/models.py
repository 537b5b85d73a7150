"""Live voice sessions across workers, and per-user limits."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class LiveSession(models.Model):
    """A voice session being relayed right now, on some worker.

    Kept in the database (not a process dict) so every worker sees every session: limits hold
    across workers, staff can list them, and "end session" reaches the worker holding one
    through its channel-layer group. A worker that dies leaves rows whose heartbeat goes stale;
    they no longer count and are swept.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_sessions")
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="live_sessions"
    )
    worker = models.CharField(max_length=200, help_text="Host and process id of the worker holding it.")
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "heartbeat_at"], name="live_user_heartbeat_idx"),
            models.Index(fields=["worker"], name="live_worker_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.worker}"

    @property
    def group_name(self) -> str:
        """The channel-layer group its consumer listens on."""
        return session_group(self.id)


def session_group(session_id: uuid.UUID | str) -> str:
    return f"voice.session.{session_id}"


class UserLimits(models.Model):
    """Per-user overrides of the server's limits; an empty field means the server default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_limits"
    )
    max_sessions = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Concurrent voice sessions; 0 blocks voice entirely."
    )
    daily_tokens = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens per day; 0 means none."
    )
    daily_cost = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="USD per day.",
    )
    max_session_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "user limits"
        verbose_name_plural = "user limits"

    def __str__(self) -> str:
        return f"Limits of {self.user}"
