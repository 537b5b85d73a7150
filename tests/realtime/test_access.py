"""Who may open /ws/voice/ and which conversation they may resume."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from conversations import services
from conversations.models import Conversation
from tests.realtime.conftest import ORIGIN, Browser
from voiceproject.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def _closed_with(path: str, headers: list[Any]) -> int | None:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected  # accepted first, so that the close code reaches the browser
    return await Browser(communicator).until_closed()


async def test_an_anonymous_connection_is_closed_with_4401(simulator: Any) -> None:
    assert await _closed_with("/ws/voice/", [ORIGIN]) == 4401
    assert await Conversation.objects.acount() == 0


async def test_a_wrong_token_is_closed_with_4401(simulator: Any) -> None:
    assert await _closed_with("/ws/voice/", [(b"authorization", b"Token nope")]) == 4401


async def test_another_users_conversation_is_refused_with_4403(
    connect: Any, django_user_model: Any, user: Any
) -> None:
    bob = await sync_to_async(django_user_model.objects.create_user)(username="bob", password="x")
    theirs = await sync_to_async(services.conversation_start)(owner=bob, provider="simulator")
    browser = await connect(query=f"?conversation={theirs.pk}")

    assert await browser.until_closed() == 4403
    await sync_to_async(theirs.refresh_from_db)()
    assert theirs.status == "active"  # untouched


async def test_an_unknown_conversation_is_refused_with_4403_too(connect: Any) -> None:
    browser = await connect(query=f"?conversation={uuid.uuid4()}")
    assert await browser.until_closed() == 4403


async def test_a_malformed_conversation_id_is_refused_with_4400(connect: Any) -> None:
    browser = await connect(query="?conversation=not-a-uuid")
    assert await browser.until_closed() == 4400


async def test_an_integrator_connects_with_a_token_and_no_origin(user: Any, simulator: Any) -> None:
    token = await sync_to_async(Token.objects.create)(user=user)
    communicator = WebsocketCommunicator(
        application, "/ws/voice/", headers=[(b"authorization", f"Token {token.key}".encode())]
    )
    assert (await communicator.connect())[0]
    browser = Browser(communicator)

    ready = await browser.until_type("session.ready")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    conversation = await Conversation.objects.aget(pk=ready["conversation_id"])
    assert conversation.owner_id == user.pk
