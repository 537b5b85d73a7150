"""Reads of stored conversations for pages, the API and admin."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from conversations.models import TOKEN_FIELDS, Conversation, Message, Usage


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


def usage_by_day(
    *,
    owner: AbstractBaseUser | None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Tokens by kind and cost per day (in TIME_ZONE), oldest first; `owner=None` means everyone.

    Each row: `day`, every token field, `cost` (of priced reports), `reports`, and `unpriced`
    (reports whose model has no price, so their tokens are not in the cost). Days without usage
    are left out. Bounds are inclusive.
    """
    qs = Usage.objects.all()
    if owner is not None:
        qs = qs.filter(conversation__owner=owner)
    if date_from is not None:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(created_at__date__lte=date_to)
    # Aggregates need names of their own: reusing a field's name makes SQL sum a sum.
    rows = (
        qs.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            **{f"sum_{name}": Sum(name) for name in TOKEN_FIELDS},
            sum_cost=Sum("cost"),
            reports=Count("id"),
            unpriced=Count("id", filter=Q(cost__isnull=True)),
        )
        .order_by("day")
    )
    # SQLite sums decimals as floating point; round back to the stored precision.
    quantum = Decimal("1e-10")
    return [
        {
            "day": row["day"],
            **{name: row[f"sum_{name}"] or 0 for name in TOKEN_FIELDS},
            "cost": Decimal(row["sum_cost"] or 0).quantize(quantum),
            "reports": row["reports"],
            "unpriced": row["unpriced"],
        }
        for row in rows
    ]


def user_by_username_or_id(*, key: str) -> AbstractBaseUser | None:
    """The user with this username, else with this numeric id, else None (for staff reports)."""
    users = get_user_model().objects
    found = users.filter(**{users.model.USERNAME_FIELD: key}).first()
    if found is None and key.isascii() and key.isdigit() and len(key) <= 18:  # fits a bigint
        found = users.filter(pk=int(key)).first()
    return found
