"""Every write to stored conversations goes through these functions.

They take ids rather than model instances where the relay calls them, so a background writer can
apply them in order without holding objects across awaits. Turns and usage go through
conversations/writes.py, which locks the conversation row for positions and totals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conversations.models import Conversation, Message, SessionSettings, Usage
from conversations.writes import ConversationId, ConversationWrites, Row

# The status a conversation ends in when only the reason is given.
STATUS_FOR_END_REASON: dict[str, str] = {
    Conversation.EndReason.USER_STOPPED: Conversation.Status.COMPLETED,
    Conversation.EndReason.IDLE_TIMEOUT: Conversation.Status.COMPLETED,
    Conversation.EndReason.SESSION_EXPIRED: Conversation.Status.COMPLETED,
    Conversation.EndReason.LIMIT_REACHED: Conversation.Status.COMPLETED,
    Conversation.EndReason.ENDED_BY_ADMIN: Conversation.Status.COMPLETED,
    Conversation.EndReason.CLIENT_DISCONNECTED: Conversation.Status.INTERRUPTED,
    Conversation.EndReason.UPSTREAM_CLOSED: Conversation.Status.INTERRUPTED,
    Conversation.EndReason.SERVER_SHUTDOWN: Conversation.Status.INTERRUPTED,
    Conversation.EndReason.UPSTREAM_ERROR: Conversation.Status.FAILED,
    Conversation.EndReason.AUTHENTICATION_FAILED: Conversation.Status.FAILED,
}


# --- Session settings -----------------------------------------------------------------------------


def session_settings_for(*, user: AbstractBaseUser) -> SessionSettings:
    """The user's session settings, created with defaults on first use."""
    obj, _ = SessionSettings.objects.get_or_create(user=user)
    return obj


def session_settings_update(*, user: AbstractBaseUser, **changes: Any) -> SessionSettings:
    """Change some of the user's session settings after model validation."""
    obj = session_settings_for(user=user)
    for name, value in changes.items():
        if name in {"id", "user", "user_id", "updated_at"} or not hasattr(obj, name):
            raise ValueError(f"Unknown session setting: {name}")
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


# --- Conversations --------------------------------------------------------------------------------


def conversation_start(
    *,
    owner: AbstractBaseUser,
    provider: str,
    model: str = "",
    voice: str = "",
    settings_snapshot: dict[str, Any] | None = None,
) -> Conversation:
    """Open a new active conversation for the owner."""
    return Conversation.objects.create(
        owner=owner,
        provider=provider,
        model=model,
        voice=voice,
        settings_snapshot=settings_snapshot or {},
    )


def conversation_set_upstream_session(
    *, conversation_id: ConversationId, session_id: str, model: str = ""
) -> None:
    """Remember the upstream session id (and the model it reported, when given)."""
    changes: dict[str, Any] = {"upstream_session_id": session_id[:100]}
    if model:
        changes["model"] = model[:100]
    Conversation.objects.filter(pk=conversation_id).update(**changes)


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give the conversation a title of the owner's choosing."""
    title = " ".join(title.split())
    if not title:
        raise ValueError("A title cannot be empty.")
    conversation.title = title[:200]
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation with its turns and usage (the owner's choice; admins may too)."""
    conversation.delete()


def conversation_finish(
    *, conversation_id: ConversationId, end_reason: str, status: str | None = None
) -> bool:
    """End an active conversation; returns False when it had already ended.

    The first end wins: a later call (say, the socket closing after the user pressed stop)
    does not overwrite the reason.
    """
    status = status or STATUS_FOR_END_REASON[end_reason]
    updated = Conversation.objects.filter(pk=conversation_id, status=Conversation.Status.ACTIVE).update(
        status=status, end_reason=end_reason, ended_at=timezone.now()
    )
    return bool(updated)


def conversation_reopen(*, conversation_id: ConversationId) -> None:
    """Make an ended conversation active again when its owner resumes it."""
    Conversation.objects.filter(pk=conversation_id).update(
        status=Conversation.Status.ACTIVE, end_reason="", ended_at=None
    )


# --- Turns and usage -----------------------------------------------------------------------------
# Each applies one write through ConversationWrites (conversations/writes.py), which holds the
# rules; the recorder applies several at once through `write_together`. None opens a savepoint of
# its own: the recorder wraps every write or group in one, and other callers get a transaction.


def message_add(
    *,
    conversation_id: ConversationId,
    item_id: str,
    role: str,
    kind: str,
    text: str = "",
    status: str = Message.Status.IN_PROGRESS,
    response_id: str = "",
) -> Message:
    """Append a turn at the end of the conversation, or return it if its item is already stored."""
    return _write_one(
        ConversationWrites.message_add,
        conversation_id,
        item_id=item_id,
        role=role,
        kind=kind,
        text=text,
        status=status,
        response_id=response_id,
    )


def message_complete(
    *,
    conversation_id: ConversationId,
    item_id: str,
    role: str,
    text: str,
    kind: str = Message.Kind.AUDIO,
    audio_duration_ms: int | None = None,
) -> Message:
    """Store a turn's final text: a user transcript or an assistant answer.

    A transcript may arrive before its item was stored; the turn is then appended first. An
    interrupted answer keeps its interrupted status and gets its heard part recomputed.
    """
    return _write_one(
        ConversationWrites.message_complete,
        conversation_id,
        item_id=item_id,
        role=role,
        text=text,
        kind=kind,
        audio_duration_ms=audio_duration_ms,
    )


def message_transcription_failed(
    *, conversation_id: ConversationId, item_id: str, error_code: str = ""
) -> Message:
    """Mark a user audio turn whose transcription failed, so the gap is visible in history."""
    return _write_one(
        ConversationWrites.message_transcription_failed,
        conversation_id,
        item_id=item_id,
        error_code=error_code,
    )


def message_interrupt(
    *,
    conversation_id: ConversationId,
    item_id: str,
    played_ms: int,
    audio_duration_ms: int | None = None,
) -> Message | None:
    """Mark an assistant turn the user cut off after `played_ms`, keeping the part heard.

    Returns None when no such assistant turn is stored (an interrupt for an unknown item).
    """
    try:
        return _write_one(
            ConversationWrites.message_interrupt,
            conversation_id,
            item_id=item_id,
            played_ms=played_ms,
            audio_duration_ms=audio_duration_ms,
        )
    except Conversation.DoesNotExist:  # deleted meanwhile: nothing to mark
        return None


def usage_record(
    *,
    conversation_id: ConversationId,
    upstream_id: str,
    kind: str,
    usage: dict[str, Any],
    status: str = "",
    model: str = "",
) -> Usage | None:
    """Store one upstream usage report and add it to the conversation's totals, exactly once.

    Returns None when a report with this upstream id was already stored (a replayed event).
    `usage` is the upstream payload: token details, or `{"type": "duration", "seconds": N}`.
    """
    return _write_one(
        ConversationWrites.usage_record,
        conversation_id,
        upstream_id=upstream_id,
        kind=kind,
        usage=usage,
        status=status,
        model=model,
    )


# The service calls `write_together` can apply in one go, and the method doing each.
_TOGETHER: dict[Callable[..., Any], Callable[..., Any]] = {
    message_add: ConversationWrites.message_add,
    message_complete: ConversationWrites.message_complete,
    message_transcription_failed: ConversationWrites.message_transcription_failed,
    message_interrupt: ConversationWrites.message_interrupt,
    usage_record: ConversationWrites.usage_record,
}


def can_write_together(write: Callable[..., Any]) -> bool:
    """Whether `write_together` can apply this service call."""
    return write in _TOGETHER


def write_together(writes: list[tuple[Callable[..., Any], dict[str, Any]]]) -> None:
    """Apply several service calls, to one conversation or many, in order, with one lock and one save.

    Each entry is a service function of `can_write_together` and its keyword arguments. The
    result is what calling them one by one would store, in far fewer queries.

    An item first seen being added, and a usage report, are taken for new without looking them
    up (a busy worker's batch would otherwise look up thousands of rows that are never there):
    if one was stored already (a replayed event), its unique index refuses the insert, and the
    writes are applied again, looking every one up first.
    """
    try:
        with transaction.atomic():
            _apply_together(writes, look_up_new=False)
    except IntegrityError:
        with transaction.atomic(savepoint=False):
            _apply_together(writes, look_up_new=True)


def _apply_together(writes: list[tuple[Callable[..., Any], dict[str, Any]]], *, look_up_new: bool) -> None:
    conversation_ids = {kwargs["conversation_id"] for _, kwargs in writes}
    item_ids: set[tuple[ConversationId, str]] = set()
    new_item_ids: set[tuple[ConversationId, str]] = set()
    for write, kwargs in writes:
        if "item_id" not in kwargs:
            continue
        key = kwargs["conversation_id"], kwargs["item_id"]
        if key not in item_ids and key not in new_item_ids:
            new = write is message_add and not look_up_new
            (new_item_ids if new else item_ids).add(key)
    upstream_ids = {
        (kwargs["conversation_id"], kwargs["upstream_id"]) for _, kwargs in writes if "upstream_id" in kwargs
    }
    batch = ConversationWrites(
        conversation_ids,
        item_ids=item_ids,
        upstream_ids=upstream_ids if look_up_new else (),
        new_item_ids=new_item_ids,
        new_upstream_ids=() if look_up_new else upstream_ids,
    )
    for write, kwargs in writes:
        _TOGETHER[write](batch, **kwargs)
    batch.save(with_ids=False)  # nothing is returned


def _write_one(method: Callable[..., Any], conversation_id: ConversationId, **kwargs: Any) -> Any:
    with transaction.atomic(savepoint=False):
        batch = ConversationWrites(
            [conversation_id],
            item_ids=[(conversation_id, kwargs["item_id"])] if "item_id" in kwargs else [],
            upstream_ids=[(conversation_id, kwargs["upstream_id"])] if "upstream_id" in kwargs else [],
        )
        result = method(batch, conversation_id=conversation_id, **kwargs)
        batch.save()
    # A new row is inserted as plain values; callers get the model instance.
    return result.instance() if isinstance(result, Row) else result


# --- API tokens -----------------------------------------------------------------------------------


def api_token_for(*, user: AbstractBaseUser) -> str:
    """The user's REST API token (the same key authenticates the WebSocket), created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
