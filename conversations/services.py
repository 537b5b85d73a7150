"""Every write to stored conversations goes through these functions.

They take ids rather than model instances where the relay calls them, so a background writer can
apply them in order without holding objects across awaits. Writes that could race (positions,
usage totals) lock the conversation row.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conversations.models import TOKEN_FIELDS, Conversation, Message, SessionSettings, Usage
from conversations.transcripts import heard_text, title_from_text
from conversations.usage import token_counts, usage_cost

ConversationId = uuid.UUID | str
COST_QUANTUM = Decimal("1e-10")

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


# --- Messages -------------------------------------------------------------------------------------


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
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        existing = Message.objects.filter(conversation=conversation, item_id=item_id).first()
        if existing is not None:
            return existing
        last = conversation.messages.aggregate(last=Max("position"))["last"] or 0
        message = Message.objects.create(
            conversation=conversation,
            position=last + 1,
            item_id=item_id,
            role=role,
            kind=kind,
            text=text,
            status=status,
            response_id=response_id,
        )
        if text and role == Message.Role.USER:
            _title_from_first_user_turn(conversation.pk, text)
    return message


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
    message = message_add(conversation_id=conversation_id, item_id=item_id, role=role, kind=kind)
    message.text = text
    if audio_duration_ms is not None:
        message.audio_duration_ms = audio_duration_ms
    if message.status == Message.Status.INTERRUPTED:
        message.heard_text = heard_text(text, message.played_ms or 0, message.audio_duration_ms)
    else:
        message.status = Message.Status.COMPLETED
    message.save(update_fields=["text", "audio_duration_ms", "status", "heard_text", "updated_at"])
    if role == Message.Role.USER and text:
        _title_from_first_user_turn(conversation_id, text)
    return message


def message_transcription_failed(
    *, conversation_id: ConversationId, item_id: str, error_code: str = ""
) -> Message:
    """Mark a user audio turn whose transcription failed, so the gap is visible in history."""
    message = message_add(
        conversation_id=conversation_id, item_id=item_id, role=Message.Role.USER, kind=Message.Kind.AUDIO
    )
    message.status = Message.Status.TRANSCRIPTION_FAILED
    message.error_code = error_code[:100]
    message.save(update_fields=["status", "error_code", "updated_at"])
    return message


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
    message = Message.objects.filter(
        conversation_id=conversation_id, item_id=item_id, role=Message.Role.ASSISTANT
    ).first()
    if message is None:
        return None
    if audio_duration_ms is not None:
        message.audio_duration_ms = audio_duration_ms
    if message.audio_duration_ms is not None:
        played_ms = min(played_ms, message.audio_duration_ms)
    message.played_ms = max(played_ms, 0)
    message.status = Message.Status.INTERRUPTED
    message.heard_text = heard_text(message.text, message.played_ms, message.audio_duration_ms)
    message.save(update_fields=["played_ms", "audio_duration_ms", "status", "heard_text", "updated_at"])
    return message


def _title_from_first_user_turn(conversation_id: ConversationId, text: str) -> None:
    """Title an untitled conversation after the text of its first user turn."""
    title = title_from_text(text)
    if title:
        Conversation.objects.filter(pk=conversation_id, title="").update(title=title)


# --- Usage ----------------------------------------------------------------------------------------


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
    tokens = token_counts(usage)
    seconds = usage.get("seconds") if usage.get("type") == "duration" else None
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.usages.filter(upstream_id=upstream_id).exists():
            return None
        model = model or conversation.model
        cost = usage_cost(model, tokens)
        if cost is not None:
            cost = cost.quantize(COST_QUANTUM)
        try:
            with transaction.atomic():
                record = Usage.objects.create(
                    conversation=conversation,
                    upstream_id=upstream_id[:120],
                    kind=kind,
                    status=status[:20],
                    model=model[:100],
                    duration_seconds=Decimal(str(seconds)) if isinstance(seconds, int | float) else None,
                    cost=cost,
                    **tokens.as_dict(),
                )
        except IntegrityError:
            # Another writer stored it between our check and insert; it counted the totals.
            return None
        # The row is locked, so totals are summed here in Python: exact Decimal arithmetic even
        # on SQLite, whose SQL arithmetic on decimals is floating point.
        for name in TOKEN_FIELDS:
            setattr(conversation, name, getattr(conversation, name) + getattr(tokens, name))
        if cost is None:
            conversation.unpriced_usage_count += 1
        else:
            conversation.cost += record.cost
        conversation.save(update_fields=[*TOKEN_FIELDS, "cost", "unpriced_usage_count"])
    return record


# --- API tokens -----------------------------------------------------------------------------------


def api_token_for(*, user: AbstractBaseUser) -> str:
    """The user's REST API token (the same key authenticates the WebSocket), created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
