"""`/ws/voice/`: a thin consumer that authenticates, plans the session and hands frames to the relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime import errors, heartbeats, registry, shutdown
from realtime.dispatching import DirectDispatchMixin
from realtime.errors import EndReason
from realtime.limits import LimitReached, budget_exhausted
from realtime.models import session_group
from realtime.providers import Provider, get_provider
from realtime.relay import LimitStop, RelayOptions, RelaySession
from realtime.sessions import ConversationForbidden, SessionPlan, parse_conversation_id, plan_session
from realtime.upstream import Connector, connect_upstream

log = logging.getLogger(__name__)


class VoiceConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    """One browser's voice session. Dependencies are injectable through `as_asgi(...)`."""

    provider_factory: Callable[[], Provider] = staticmethod(get_provider)
    connector: Connector = staticmethod(connect_upstream)

    relay: RelaySession | None = None
    plan: SessionPlan | None = None
    _heartbeat: asyncio.Task[None] | None = None
    _channel_receive: Callable[[], Any] | None = None

    @property
    def channel_receive(self) -> Callable[[], Any] | None:
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Any]) -> None:
        # Channels ends the consumer when a channel-layer receive fails. The voice does not
        # depend on the layer (only "end session" does), so an outage of Redis is waited out
        # instead of cutting every conversation.
        self._channel_receive = _surviving_outages(receive)

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
        shutdown.install()
        if shutdown.stopping():
            await self.send_json(errors.error_event("server_restart"))
            await self.close(code=errors.CLOSE_SERVER_RESTART)
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
        except LimitReached as limit:
            await self.send_json(errors.error_event(limit.code, limit.message))
            await self.close(code=limit.close_code)
            return
        self.plan = plan
        # "End session" from admin or the API reaches this consumer on whichever worker it runs.
        # If the layer is away now, the heartbeat joins the group once it is back.
        try:
            await self.channel_layer.group_add(session_group(plan.session_id), self.channel_name)
        except Exception as exc:  # the channel layer is unreachable
            log.warning("Could not join the group of session %s: %s", plan.session_id, type(exc).__name__)
        self._heartbeat = asyncio.create_task(self._beat(plan.session_id), name="live-heartbeat")
        heartbeats.heartbeat().add(plan.session_id)
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
                max_session_s=plan.limits.max_session_minutes * 60,
                # Without a budget the check could only answer "go on": no database trip per answer.
                budget_check=self._budget_check if plan.limits.has_budget else None,
                on_end=partial(registry.unregister, session_id=plan.session_id),
                recycle_after_s=settings.REALTIME_UPSTREAM_RECYCLE_MINUTES * 60,
                history_tokens=settings.REALTIME_HISTORY_TOKENS,
            ),
            connector=self.connector,
        )
        self.relay.start()

    async def _beat(self, session_id: str) -> None:
        """Keep this session's group membership fresh; its registry row is the worker's heartbeat's
        (realtime.heartbeats), which refreshes every live session's row in one query.

        Re-joining the group restores it after a Redis restart lost it. Failures are logged and
        retried on the next beat: the voice itself never depends on it.
        """
        while True:
            await asyncio.sleep(settings.REALTIME_HEARTBEAT_S)
            try:
                await self.channel_layer.group_add(session_group(session_id), self.channel_name)
            except Exception as exc:  # the channel layer is briefly away
                log.warning("Heartbeat of session %s failed: %s", session_id, type(exc).__name__)

    async def _budget_check(self) -> LimitStop | None:
        if self.plan is None:
            return None
        limit = await database_sync_to_async(budget_exhausted)(self.scope["user"], self.plan.limits)
        return None if limit is None else LimitStop(limit.code, limit.message, limit.close_code)

    async def voice_end(self, event: dict[str, Any]) -> None:
        """Called through the channel layer: an administrator (or shutdown) ends this session."""
        if self.relay is None:
            return
        reason = event.get("reason", EndReason.ENDED_BY_ADMIN)
        notice = "server_restart" if reason == EndReason.SERVER_SHUTDOWN else "ended_by_admin"
        await self.relay.end(reason, error=notice)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Frames go straight to the relay.

        Channels closes stale database connections before every message, a trip through Django's
        one database thread; for audio frames that would queue the voice behind stored writes.
        The relay touches the database only through the recorder, which manages its connection.
        """
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

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
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self.plan is not None:
            heartbeats.heartbeat().discard(self.plan.session_id)
        if self.relay is not None:
            await self.relay.end(EndReason.CLIENT_DISCONNECTED)
        if self.plan is not None:
            try:
                await self.channel_layer.group_discard(session_group(self.plan.session_id), self.channel_name)
            except Exception as exc:  # the layer is away; the membership expires on its own
                log.warning(
                    "Could not leave the group of session %s: %s", self.plan.session_id, type(exc).__name__
                )

    # Both go to the server's send directly: Channels' send() only wraps the same message in two
    # more coroutine calls, on every audio frame.

    async def send_json(self, message: dict[str, Any]) -> None:
        """The relay's way to talk to the browser."""
        await self.base_send({"type": "websocket.send", "text": orjson.dumps(message).decode()})

    async def send_bytes(self, data: bytes) -> None:
        """The relay's way to play assistant audio."""
        await self.base_send({"type": "websocket.send", "bytes": data})


def _surviving_outages(receive: Callable[[], Any]) -> Callable[[], Any]:
    """A channel-layer receive that retries through outages (with backoff) instead of raising."""

    async def receive_or_wait() -> Any:
        delay = 0.5
        while True:
            try:
                return await receive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Channel layer unavailable (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    return receive_or_wait
