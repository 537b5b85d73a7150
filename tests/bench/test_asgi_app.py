"""The benchmark's persistence-off recorder: no conversation is stored, other writes still run."""

from __future__ import annotations

import pytest

from bench.asgi_app import NullRecorder
from conversations import services
from conversations.models import Message
from tests.factories import make_conversation, make_user

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_drops_conversation_writes_but_runs_the_rest() -> None:
    from asgiref.sync import sync_to_async

    conversation = await sync_to_async(lambda: make_conversation(make_user(), turns=()))()
    ran: list[str] = []
    recorder = NullRecorder()

    recorder.put(
        services.message_add, conversation_id=conversation.pk, item_id="u1", role="user", kind="audio"
    )
    recorder.put(lambda **kwargs: ran.append(kwargs["who"]), who="registry")
    await recorder.close()

    assert ran == ["registry"]
    assert not await Message.objects.filter(conversation=conversation).aexists()
    assert recorder.failed_writes == 0
