"""Per-user limits: concurrent sessions, a daily token or cost budget, and session length."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Sum
from django.utils import timezone

from conversations.models import Usage
from realtime import errors
from realtime.models import UserLimits


@dataclass(frozen=True)
class Limits:
    max_sessions: int
    daily_tokens: int  # 0: no budget
    daily_cost: Decimal | None
    max_session_minutes: int

    @property
    def has_budget(self) -> bool:
        """Whether a daily token or cost budget applies, so usage must be checked against it."""
        return bool(self.daily_tokens) or self.daily_cost is not None


class LimitReached(Exception):
    """A limit stops a session from starting or going on; says which, to the user, with a close code."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code


def limits_for(user: AbstractBaseUser) -> Limits:
    """The server's limits with the user's own overrides applied."""
    own = UserLimits.objects.filter(user=user).first()

    def pick(name: str, default: object) -> object:
        value = getattr(own, name, None) if own else None
        return default if value is None else value

    return Limits(
        max_sessions=int(pick("max_sessions", settings.REALTIME_MAX_SESSIONS_PER_USER)),  # type: ignore[call-overload]
        daily_tokens=int(pick("daily_tokens", settings.REALTIME_DAILY_TOKEN_BUDGET)),  # type: ignore[call-overload]
        daily_cost=pick("daily_cost", settings.REALTIME_DAILY_COST_BUDGET),  # type: ignore[arg-type]
        max_session_minutes=int(pick("max_session_minutes", settings.REALTIME_MAX_SESSION_MINUTES)),  # type: ignore[call-overload]
    )


def usage_today(user: AbstractBaseUser) -> tuple[int, Decimal]:
    """Tokens and priced cost the user's conversations used since midnight (TIME_ZONE)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    totals = Usage.objects.filter(conversation__owner=user, created_at__gte=midnight).aggregate(
        tokens=Sum("total_tokens"), cost=Sum("cost")
    )
    return int(totals["tokens"] or 0), Decimal(totals["cost"] or 0)


def budget_exhausted(user: AbstractBaseUser, limits: Limits) -> LimitReached | None:
    """The daily budget problem, if the user has used it up."""
    if not limits.has_budget:
        return None
    tokens, cost = usage_today(user)
    if limits.daily_tokens and tokens >= limits.daily_tokens:
        return LimitReached(
            "daily_budget_exhausted",
            f"You have used today's {limits.daily_tokens:,} tokens. Voice chat is available again tomorrow.",
            errors.CLOSE_BUDGET,
        )
    if limits.daily_cost is not None and cost >= limits.daily_cost:
        return LimitReached(
            "daily_budget_exhausted",
            f"You have used today's budget of ${limits.daily_cost}. Voice chat is available again tomorrow.",
            errors.CLOSE_BUDGET,
        )
    return None


def session_length(limits: Limits) -> dt.timedelta:
    return dt.timedelta(minutes=limits.max_session_minutes)
