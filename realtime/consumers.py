"""`/ws/voice/`: a thin consumer that authenticates, plans the session and hands frames to the relay."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime import errors
from realtime.errors import EndReason
from realtime.providers import Provider, get_provider
from realtime.relay import RelayOptions, RelaySession
from realtime.sessions import ConversationForbidden, parse_conversation_id, plan_session
from realtime.upstream import Connector, connect_upstream

log = logging.getLogger(__name__)


class VoiceConsumer(AsyncWebsocketConsumer):
    """One browser's voice session. Dependencies are injectable through `as_asgi(...)`."""

    provider_factory: Callable[[], Provider] = staticmethod(get_provider)
    connector: Connector = staticmethod(connect_upstream)

    relay: RelaySession | None = None

    def __init__(
        self,
        *args: Any,
        provider_factory: Callable[[], Provider] | None = None,
        connector: Connector | None = None,
        **kwargs: Any,
    ) -> None:
        # Channels' WebSocket consumers drop as_asgi() keyword arguments, so take them here.
        super().__init__(*args, **kwargs)
        if provider_factory is not None:
            self.provider_factory = provider_factory
        if connector is not None:
            self.connector = connector

    async def connect(self) -> None:
        """Called on the handshake: accept, then close with a code when the session cannot start."""
        # Accept first: a close code only reaches the browser after the handshake.
        await self.accept()
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=errors.CLOSE_UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            resume = parse_conversation_id(query.get("conversation", [None])[0])
        except ValueError:
            await self.close(code=errors.CLOSE_BAD_REQUEST)
            return
        provider = self.provider_factory()
        try:
            plan = await database_sync_to_async(plan_session)(user=user, provider=provider, resume=resume)
        except ConversationForbidden:
            await self.close(code=errors.CLOSE_FORBIDDEN)
            return
        self.relay = RelaySession(
            browser=self,
            provider=provider,
            conversation_id=plan.conversation_id,
            config=plan.config,
            history=plan.history,
            options=RelayOptions(
                connect_timeout_s=settings.REALTIME_CONNECT_TIMEOUT_S,
                idle_timeout_s=settings.REALTIME_IDLE_TIMEOUT_S,
                greeting=settings.REALTIME_GREETING,
            ),
            connector=self.connector,
        )
        self.relay.start()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called for every browser frame."""
        if self.relay is None:
            return
        if bytes_data is not None:
            await self.relay.on_browser_bytes(bytes_data)
        elif text_data is not None:
            await self.relay.on_browser_text(text_data)

    async def disconnect(self, code: int) -> None:
        """Called when the browser goes: end the session and write everything queued."""
        if self.relay is not None:
            await self.relay.end(EndReason.CLIENT_DISCONNECTED)

    async def send_json(self, message: dict[str, Any]) -> None:
        """The relay's way to talk to the browser."""
        await self.send(text_data=json.dumps(message, separators=(",", ":")))

    async def send_bytes(self, data: bytes) -> None:
        """The relay's way to play assistant audio."""
        await self.send(bytes_data=data)
