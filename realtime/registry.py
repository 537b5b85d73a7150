"""The registry of live voice sessions, shared by all workers through the database."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations import services
from conversations.models import Conversation
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


# Without a savepoint inside plan_session's transaction: a refusal rolls all of it back anyway.
@transaction.atomic(savepoint=False)
def register(
    *, user: AbstractBaseUser, conversation_id: uuid.UUID | str, limits: Limits, worker: str
) -> LiveSession:
    """Record a new live session, or raise LimitReached when the user already has the most allowed.

    The user's row is locked so that two workers admitting the same user at once count each
    other's sessions. SQLite locks nothing row by row: there the transaction holds the whole
    database's write lock from its start (transaction_mode IMMEDIATE, see settings), and the
    query would lock nothing.
    """
    if connection.features.has_select_for_update:
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    sweep_stale()
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


HEARTBEAT_CHUNK = 500  # ids per UPDATE, well inside every backend's parameter limit


def heartbeat_many(*, session_ids: list[str] | list[uuid.UUID]) -> int:
    """Refresh many sessions' rows (a worker's, each beat); how many rows were still there."""
    now = timezone.now()
    return sum(
        LiveSession.objects.filter(pk__in=session_ids[i : i + HEARTBEAT_CHUNK]).update(heartbeat_at=now)
        for i in range(0, len(session_ids), HEARTBEAT_CHUNK)
    )


def unregister(*, session_id: uuid.UUID | str) -> None:
    LiveSession.objects.filter(pk=session_id).delete()


def sweep_stale() -> int:
    """Forget the sessions of workers that died, and end their conversations; returns how many.

    A conversation that a fresh session has resumed meanwhile (on another worker) stays active.
    """
    stale = list(LiveSession.objects.filter(heartbeat_at__lt=timezone.now() - stale_after()))
    for session in stale:
        session.delete()
        if not live_sessions().filter(conversation_id=session.conversation_id).exists():
            services.conversation_finish(
                conversation_id=session.conversation_id, end_reason=Conversation.EndReason.SERVER_SHUTDOWN
            )
    return len(stale)


def worker_sessions(worker: str) -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(worker=worker)
