"""WebSocket authentication (session cookie or DRF token) and origin checks."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import path
from rest_framework.authtoken.models import Token

from realtime.auth import token_from_headers, websocket_stack
from voiceproject.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


class WhoAmI(AsyncJsonWebsocketConsumer):
    """Answers with the authenticated username, or an empty string."""

    async def connect(self) -> None:
        await self.accept()
        user = self.scope["user"]
        await self.send_json({"user": user.get_username() if user.is_authenticated else ""})


APP = websocket_stack(URLRouter([path("ws/whoami/", WhoAmI.as_asgi())]))


async def _who(headers: list[tuple[bytes, bytes]]) -> str | None:
    communicator = WebsocketCommunicator(APP, "/ws/whoami/", headers=headers)
    connected, _ = await communicator.connect()
    if not connected:
        return None
    reply = await communicator.receive_json_from()
    await communicator.disconnect()
    return reply["user"]


@pytest.fixture
async def alice(django_user_model: Any) -> Any:
    return await sync_to_async(django_user_model.objects.create_user)(username="alice", password="pw")


@sync_to_async
def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@sync_to_async
def _token(user: Any) -> str:
    return Token.objects.create(user=user).key


ORIGIN = (b"origin", b"http://testserver")


async def test_the_session_cookie_authenticates_a_browser(alice: Any) -> None:
    assert await _who([ORIGIN, (b"cookie", await _session_cookie(alice))]) == "alice"


async def test_a_token_header_authenticates_an_integrator(alice: Any) -> None:
    key = await _token(alice)
    assert await _who([(b"authorization", f"Token {key}".encode())]) == "alice"


async def test_a_wrong_token_is_anonymous_even_with_a_valid_session(alice: Any) -> None:
    cookie = await _session_cookie(alice)
    assert await _who([ORIGIN, (b"cookie", cookie), (b"authorization", b"Token wrong")]) == ""


async def test_an_inactive_users_token_is_anonymous(alice: Any) -> None:
    key = await _token(alice)
    alice.is_active = False
    await sync_to_async(alice.save)()
    assert await _who([(b"authorization", f"Token {key}".encode())]) == ""


async def test_no_credentials_is_anonymous() -> None:
    assert await _who([ORIGIN]) == ""


async def test_a_foreign_origin_is_refused(alice: Any) -> None:
    cookie = await _session_cookie(alice)
    assert await _who([(b"origin", b"https://evil.example"), (b"cookie", cookie)]) is None


async def test_a_trusted_csrf_origin_is_accepted(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://voice.example.com"]
    app = websocket_stack(URLRouter([path("ws/whoami/", WhoAmI.as_asgi())]))
    communicator = WebsocketCommunicator(
        app, "/ws/whoami/", headers=[(b"origin", b"https://voice.example.com")]
    )
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    assert connected


async def test_the_project_application_refuses_foreign_origins_on_websockets() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/voice/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


def test_the_token_is_read_from_the_authorization_header_only_with_the_token_scheme() -> None:
    assert token_from_headers([(b"Authorization", b"Token abc")]) == "abc"
    assert token_from_headers([(b"authorization", b"Bearer abc")]) is None
    assert token_from_headers([(b"cookie", b"x=1")]) is None


async def test_the_session_is_read_but_frames_are_sent_without_a_session_wrapper(alice: Any) -> None:
    seen: dict[str, Any] = {}

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["user"] = scope["user"]
        seen["send"] = send

    async def server_send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "websocket", "path": "/", "headers": [ORIGIN, (b"cookie", await _session_cookie(alice))]}
    await websocket_stack(inner)(scope, None, server_send)

    assert seen["send"] is server_send  # no per-frame session bookkeeping on the way out
    assert await sync_to_async(lambda: seen["user"].get_username())() == "alice"


async def test_a_token_request_is_authenticated_without_reading_the_session(alice: Any) -> None:
    key = await _token(alice)
    seen: dict[str, Any] = {}

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    headers = [(b"authorization", f"Token {key}".encode()), (b"cookie", await _session_cookie(alice))]
    await websocket_stack(inner)({"type": "websocket", "path": "/", "headers": headers}, None, None)

    assert "session" not in seen  # no trips to the database thread for the session and its user
    assert seen["user"].get_username() == "alice"
