"""The registry of live voice sessions, shared by all workers through the database."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from realtime import errors
from realtime.limits import LimitReached, Limits
from realtime.models import LiveSession


def stale_after() -> dt.timedelta:
    """A session whose worker has not touched it for this long is taken for dead (crashed worker)."""
    return dt.timedelta(seconds=4 * settings.REALTIME_HEARTBEAT_S)


def worker_id() -> str:
    """This worker process: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def live_sessions() -> QuerySet[LiveSession]:
    """Sessions with a fresh heartbeat, newest first."""
    return LiveSession.objects.filter(heartbeat_at__gte=timezone.now() - stale_after()).select_related(
        "user", "conversation"
    )


@transaction.atomic
def register(
    *, user: AbstractBaseUser, conversation_id: uuid.UUID | str, limits: Limits, worker: str
) -> LiveSession:
    """Record a new live session, or raise LimitReached when the user already has the most allowed.

    The user's row is locked so that two workers admitting the same user at once count each
    other's sessions.
    """
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if limits.max_sessions == 0:
        raise LimitReached(
            "voice_disabled", "Voice chat is not enabled for your account.", errors.CLOSE_TOO_MANY
        )
    running = live_sessions().filter(user=user).count()
    if running >= limits.max_sessions:
        raise LimitReached(
            "too_many_sessions",
            f"You already have {running} voice session(s) open; the limit is {limits.max_sessions}. "
            "Close one and try again.",
            errors.CLOSE_TOO_MANY,
        )
    return LiveSession.objects.create(user=user, conversation_id=conversation_id, worker=worker)


def heartbeat(*, session_id: uuid.UUID | str) -> None:
    LiveSession.objects.filter(pk=session_id).update(heartbeat_at=timezone.now())


def unregister(*, session_id: uuid.UUID | str) -> None:
    LiveSession.objects.filter(pk=session_id).delete()


def sweep_stale() -> int:
    """Delete the sessions of workers that died; returns how many."""
    deleted, _ = LiveSession.objects.filter(heartbeat_at__lt=timezone.now() - stale_after()).delete()
    return deleted


def worker_sessions(worker: str) -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(worker=worker)
