"""Admin for live voice sessions (with "end session") and per-user limits."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from realtime import registry
from realtime.control import end_sessions
from realtime.models import LiveSession, UserLimits


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    """Voice sessions being relayed right now, on any worker."""

    list_display = ("user", "conversation", "worker", "started_at", "heartbeat_at")
    list_select_related = ("user", "conversation")
    list_filter = ("worker",)
    search_fields = ("user__username", "conversation__id", "worker")
    readonly_fields = ("id", "user", "conversation", "worker", "started_at", "heartbeat_at")
    actions = ("end_selected_sessions",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LiveSession]:
        # Only sessions whose worker is alive; rows of crashed workers are swept on the way.
        registry.sweep_stale()
        return super().get_queryset(request).filter(pk__in=registry.live_sessions().values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_end_permission(self, request: HttpRequest) -> bool:
        """Ending someone's session takes more than being able to look at it."""
        return request.user.is_superuser or request.user.has_perm("realtime.change_livesession")

    @admin.action(description="End selected sessions", permissions=["end"])
    def end_selected_sessions(self, request: HttpRequest, queryset: QuerySet[LiveSession]) -> None:
        """Tell each session's worker to end it; the conversation is finished as ended by an admin."""
        ids = list(queryset.values_list("pk", flat=True))
        end_sessions(ids)
        self.message_user(request, f"Asked {len(ids)} session(s) to end.", messages.SUCCESS)


@admin.register(UserLimits)
class UserLimitsAdmin(admin.ModelAdmin):
    """Per-user overrides of the server's limits."""

    list_display = ("user", "max_sessions", "daily_tokens", "daily_cost", "max_session_minutes")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
