"""Starting a voice session: the conversation to record into and the upstream session to ask for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from conversations import selectors, services
from conversations.models import Conversation
from realtime import registry
from realtime.limits import Limits, budget_exhausted, limits_for
from realtime.providers.base import Provider
from realtime.relay import HistoryTurn
from realtime.session_config import SessionConfig


class ConversationForbidden(Exception):
    """The conversation to resume does not exist or belongs to someone else."""


@dataclass(frozen=True)
class SessionPlan:
    conversation_id: str
    config: SessionConfig
    history: list[HistoryTurn]
    session_id: str
    limits: Limits


def parse_conversation_id(raw: str | None) -> uuid.UUID | None:
    """The `?conversation=` value as a UUID; ValueError when it is not one."""
    return None if raw is None else uuid.UUID(raw)


@transaction.atomic
def plan_session(*, user: AbstractBaseUser, provider: Provider, resume: uuid.UUID | None) -> SessionPlan:
    """Open (or reopen) the user's conversation, admit it as a live session within the user's
    limits, and build the upstream session from their settings.

    Raises ConversationForbidden, or LimitReached (then nothing was created).
    """
    limits = limits_for(user)
    over_budget = budget_exhausted(user, limits)
    if over_budget is not None:
        raise over_budget
    config = provider.session_config(services.session_settings_for(user=user))
    history: list[HistoryTurn] = []
    if resume is None:
        conversation = services.conversation_start(
            owner=user,
            provider=provider.name,
            model=provider.model,
            voice=str(config.voice if isinstance(config.voice, str) else config.voice.get("name", "")),
            settings_snapshot=config.snapshot(),
        )
    else:
        conversation = Conversation.objects.filter(pk=resume, owner=user).first()
        if conversation is None:
            raise ConversationForbidden(str(resume))
        history = [
            HistoryTurn(role, text)
            for role, text in selectors.conversation_history(
                conversation_id=conversation.pk, token_budget=settings.REALTIME_HISTORY_TOKENS
            )
        ]
    live = registry.register(
        user=user, conversation_id=conversation.pk, limits=limits, worker=registry.worker_id()
    )
    if resume is not None:
        services.conversation_reopen(conversation_id=conversation.pk)
    return SessionPlan(str(conversation.pk), config, history, str(live.pk), limits)
