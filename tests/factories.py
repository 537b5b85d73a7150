"""Small builders of test data, made through the services so stored rows look like real ones.

Every function needs the database (`pytest.mark.django_db`). Defaults give a plausible OpenAI
conversation; pass only what a test is about.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from conversations import services
from conversations.models import Conversation, Message

# One real `response.done` usage payload of gpt-realtime; it costs exactly $0.0069656.
GPT_REALTIME_USAGE: dict[str, Any] = {
    "total_tokens": 253,
    "input_tokens": 132,
    "output_tokens": 121,
    "input_token_details": {
        "text_tokens": 119,
        "audio_tokens": 13,
        "image_tokens": 0,
        "cached_tokens": 64,
        "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 30, "audio_tokens": 91},
}

TEST_PASSWORD = "test-password"

DEFAULT_TURNS = (("user", "hi"), ("assistant", "hello"))

_serial = itertools.count(1)


def make_user(username: str | None = None, *, password: str = TEST_PASSWORD, **extra: Any) -> Any:
    """A user with a unique username (or the one given), an email derived from it and TEST_PASSWORD."""
    username = username or f"user{next(_serial)}"
    extra.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=password, **extra)


def add_turn(
    conversation: Conversation,
    role: str,
    text: str,
    *,
    kind: str = Message.Kind.AUDIO,
    audio_ms: int | None = None,
    interrupted_at_ms: int | None = None,
) -> Message:
    """Append a completed turn; with `interrupted_at_ms` (and `audio_ms`) an assistant turn is cut off.

    The heard part of an interrupted turn is what `message_interrupt` computes: the share of the
    text matching the played share of the audio (2000 ms of audio by default).
    """
    item_id = f"item_{next(_serial)}"
    message = services.message_complete(
        conversation_id=conversation.pk,
        item_id=item_id,
        role=role,
        text=text,
        kind=kind,
        audio_duration_ms=audio_ms,
    )
    if interrupted_at_ms is None:
        return message
    interrupted = services.message_interrupt(
        conversation_id=conversation.pk,
        item_id=item_id,
        played_ms=interrupted_at_ms,
        audio_duration_ms=audio_ms or 2000,
    )
    assert interrupted is not None, "only assistant turns can be interrupted"
    return interrupted


def add_usage(
    conversation: Conversation,
    usage: Mapping[str, Any] = GPT_REALTIME_USAGE,
    *,
    kind: str = "response",
    model: str = "",
    upstream_id: str | None = None,
) -> Any:
    """Record one usage report (by default GPT_REALTIME_USAGE) priced at the conversation's model."""
    return services.usage_record(
        conversation_id=conversation.pk,
        upstream_id=upstream_id or f"resp_{next(_serial)}",
        kind=kind,
        usage=dict(usage),
        model=model,
    )


def make_conversation(
    owner: Any,
    *,
    turns: Iterable[tuple[str, str]] = DEFAULT_TURNS,
    usage: Iterable[Mapping[str, Any]] = (),
    provider: str = "openai",
    model: str = "gpt-realtime",
    title: str = "",
    end_reason: str | None = None,
) -> Conversation:
    """A conversation with `(role, text)` turns in order and one usage report per payload in `usage`.

    It stays active unless `end_reason` is given (then it ends as the services decide, e.g.
    "user_stopped" completes it). Without `title` it is titled after its first user turn.
    Returned fresh from the database, so totals and title are current.
    """
    conversation = services.conversation_start(owner=owner, provider=provider, model=model)
    for role, text in turns:
        add_turn(conversation, role, text)
    for payload in usage:
        add_usage(conversation, payload)
    if title:
        services.conversation_rename(conversation=conversation, title=title)
    if end_reason is not None:
        services.conversation_finish(conversation_id=conversation.pk, end_reason=end_reason)
    conversation.refresh_from_db()
    return conversation


def token_client(user: Any) -> APIClient:
    """A REST framework test client that sends `user`'s API token with every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {services.api_token_for(user=user)}")
    return client


def backdate(conversation: Conversation, when: dt.datetime) -> Conversation:
    """Move a conversation's start and its usage reports to `when` (auto_now_add fields cannot be set)."""
    Conversation.objects.filter(pk=conversation.pk).update(started_at=when)
    conversation.usages.update(created_at=when)
    conversation.refresh_from_db()
    return conversation


async def eventually(check: Any, timeout: float = 5.0) -> None:
    """Wait until the async `check()` returns true; fail after `timeout` seconds."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
