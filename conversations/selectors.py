"""Reads of stored conversations for pages, the API and admin."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet

from conversations.models import Conversation, Message, Usage


def conversation_list(
    *,
    owner: AbstractBaseUser,
    search: str = "",
    status: str = "",
    started_from: dt.datetime | None = None,
    started_before: dt.datetime | None = None,
) -> QuerySet[Conversation]:
    """The owner's conversations, newest first, with their message counts.

    `search` matches titles and transcript text (case-insensitive substring).
    """
    qs = Conversation.objects.filter(owner=owner)
    if status:
        qs = qs.filter(status=status)
    if started_from is not None:
        qs = qs.filter(started_at__gte=started_from)
    if started_before is not None:
        qs = qs.filter(started_at__lt=started_before)
    search = search.strip()
    if search:
        # An uncorrelated subquery (not a join: one row per conversation, no DISTINCT) lets
        # PostgreSQL answer the transcript match from the trigram index.
        in_transcript = Message.objects.filter(text__icontains=search).values("conversation_id")
        qs = qs.filter(Q(title__icontains=search) | Q(pk__in=in_transcript))
    return qs.annotate(message_count=Count("messages")).order_by("-started_at")


def conversation_get(*, owner: AbstractBaseUser, conversation_id: uuid.UUID | str) -> Conversation | None:
    """One of the owner's conversations with its messages in order and its usage, or None."""
    return (
        Conversation.objects.filter(owner=owner, pk=conversation_id)
        .prefetch_related(
            Prefetch("messages", queryset=Message.objects.order_by("position")),
            Prefetch("usages", queryset=Usage.objects.order_by("created_at", "id")),
        )
        .first()
    )


def conversation_messages(*, conversation_id: uuid.UUID | str) -> QuerySet[Message]:
    """A conversation's turns in conversation order."""
    return Message.objects.filter(conversation_id=conversation_id).order_by("position")


def conversation_history(*, conversation_id: uuid.UUID | str, token_budget: int) -> list[tuple[str, str]]:
    """The most recent turns as (role, text) that fit the budget, oldest first, for a resumed session.

    An interrupted answer contributes only what the user heard: the model should not believe it
    said what was never played. Tokens are estimated at four characters each.
    """
    turns: list[tuple[str, str]] = []
    used = 0
    rows = Message.objects.filter(conversation_id=conversation_id).order_by("-position")
    for role, text, heard, status in rows.values_list("role", "text", "heard_text", "status").iterator():
        spoken = heard if status == Message.Status.INTERRUPTED else text
        if not spoken.strip():
            continue
        cost = len(spoken) // 4 + 4
        if used + cost > token_budget:
            break
        used += cost
        turns.append((role, spoken))
    turns.reverse()
    return turns
