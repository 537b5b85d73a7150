"""RelaySession on its own, without Channels: what needs no upstream at all."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from conversations import services
from conversations.models import Conversation
from realtime.providers.simulator import SimulatorProvider
from realtime.relay import RelayOptions, RelaySession
from realtime.session_config import SessionConfig

pytestmark = pytest.mark.django_db(transaction=True)


class SilentBrowser:
    """A browser side that only remembers what it was sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed_with: int | None = None

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    async def close(self, code: int) -> None:
        self.closed_with = code


@pytest.fixture
async def relay(user: Any) -> RelaySession:
    conversation = await sync_to_async(services.conversation_start)(owner=user, provider="simulator")
    session = RelaySession(
        browser=SilentBrowser(),
        provider=SimulatorProvider(url="ws://127.0.0.1:9"),
        conversation_id=str(conversation.pk),
        config=SessionConfig(instructions="x", voice="marin", turn_detection=None, transcription_model="m"),
    )
    return session


async def test_every_caller_of_end_returns_only_once_the_end_is_written(relay: RelaySession) -> None:
    @sync_to_async
    def stored_reason() -> str:
        return Conversation.objects.get(pk=relay.conversation_id).end_reason

    async def second_caller() -> str:
        await relay.end("upstream_closed")
        return await stored_reason()

    _, seen_by_second = await asyncio.gather(relay.end("client_disconnected"), second_caller())

    assert seen_by_second == "client_disconnected"  # the first reason wins, and is already stored


async def test_input_after_the_end_is_ignored(relay: RelaySession) -> None:
    await relay.end("user_stopped")
    await relay.on_browser_text('{"type": "ping"}')
    await relay.on_browser_bytes(b"\x00\x00")

    assert relay.browser.sent == []  # type: ignore[attr-defined]
    assert relay.browser.closed_with == 1000  # type: ignore[attr-defined]


async def test_audio_waiting_for_the_upstream_is_bounded_and_the_excess_refused(relay: RelaySession) -> None:
    frame = b"\x00\x00" * 2400  # 100 ms
    for _ in range(300):  # 30 s: the most that may wait
        await relay.on_browser_bytes(frame)
    assert relay.browser.sent == []  # type: ignore[attr-defined]

    await relay.on_browser_bytes(frame)

    assert [m["code"] for m in relay.browser.sent] == ["audio_buffer_full"]  # type: ignore[attr-defined]
    await relay.end("user_stopped")


async def _never_answers(target: Any, *, open_timeout: float) -> Any:
    await asyncio.sleep(3600)


async def test_a_session_past_its_maximum_length_is_ended_with_4410(user: Any) -> None:
    conversation = await sync_to_async(services.conversation_start)(owner=user, provider="simulator")
    browser = SilentBrowser()
    session = RelaySession(
        browser=browser,
        provider=SimulatorProvider(url="ws://127.0.0.1:9"),
        conversation_id=str(conversation.pk),
        config=SessionConfig(instructions="x", voice="marin", turn_detection=None, transcription_model="m"),
        options=RelayOptions(max_session_s=0.05),
        connector=_never_answers,
    )
    session.start()
    await asyncio.wait_for(session._end_written.wait(), 5)

    assert browser.closed_with == 4410
    assert any(m.get("code") == "session_too_long" for m in browser.sent if isinstance(m, dict))
    await sync_to_async(conversation.refresh_from_db)()
    assert (conversation.status, conversation.end_reason) == ("completed", "limit_reached")


async def _simulator_then(sim_url: str, failure: Exception) -> Any:
    """A connector whose first connection works and whose later ones fail with `failure`."""
    from realtime.upstream import connect_upstream

    calls = 0

    async def connector(target: Any, *, open_timeout: float) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise failure
        return await connect_upstream(target, open_timeout=open_timeout)

    return connector


async def _relay_with(user: Any, sim_url: str, connector: Any) -> tuple[RelaySession, SilentBrowser]:
    conversation = await sync_to_async(services.conversation_start)(owner=user, provider="simulator")
    browser = SilentBrowser()
    session = RelaySession(
        browser=browser,
        provider=SimulatorProvider(url=sim_url),
        conversation_id=str(conversation.pk),
        config=SessionConfig(instructions="x", voice="marin", turn_detection=None, transcription_model="m"),
        options=RelayOptions(reconnect_delays_s=(0.01, 0.01)),
        connector=connector,
    )
    return session, browser


async def _talk_until_the_end(user: Any, sim_url: str, connector: Any) -> tuple[RelaySession, list[str]]:
    """Start a session, ask for an answer (which the upstream drops), wait for the end; the
    browser's messages as types, errors by code."""
    session, browser = await _relay_with(user, sim_url, connector)
    session.start()
    while not any(isinstance(m, dict) and m.get("type") == "session.ready" for m in browser.sent):
        await asyncio.sleep(0.01)
    await session.on_browser_text('{"type": "text", "text": "Talk please"}')
    await asyncio.wait_for(session._end_written.wait(), 10)
    kinds = [
        m["code"] if m.get("type") == "error" else m.get("type") for m in browser.sent if isinstance(m, dict)
    ]
    return session, kinds


async def test_an_upstream_that_stays_away_ends_the_session_after_the_reconnect_attempts(
    user: Any, simulator: Any, sim_config: Any
) -> None:
    from realtime.upstream import UpstreamUnavailable

    sim_config.close_mid_response = True
    connector = await _simulator_then(simulator.url, UpstreamUnavailable("gone"))
    session, kinds = await _talk_until_the_end(user, simulator.url, connector)
    assert kinds.count("session.reconnecting") == 2  # one notice per attempt, two attempts allowed
    assert kinds[-1] == "upstream_closed"
    assert session.browser.closed_with == 4502  # type: ignore[attr-defined]
    conversation = await Conversation.objects.aget(pk=session.conversation_id)
    assert (conversation.status, conversation.end_reason) == ("interrupted", "upstream_closed")


async def test_refused_credentials_on_reconnect_are_not_retried(
    user: Any, simulator: Any, sim_config: Any
) -> None:
    from realtime.upstream import UpstreamRefused

    sim_config.close_mid_response = True
    connector = await _simulator_then(simulator.url, UpstreamRefused("HTTP 401"))
    session, kinds = await _talk_until_the_end(user, simulator.url, connector)
    assert kinds.count("session.reconnecting") == 1
    assert kinds[-1] == "upstream_auth_failed"
    conversation = await Conversation.objects.aget(pk=session.conversation_id)
    assert conversation.end_reason == "authentication_failed"


async def test_the_upstream_session_is_recycled_between_answers(user: Any, simulator: Any) -> None:
    from realtime.upstream import connect_upstream

    conversation = await sync_to_async(services.conversation_start)(owner=user, provider="simulator")
    browser = SilentBrowser()
    session = RelaySession(
        browser=browser,
        provider=SimulatorProvider(url=simulator.url),
        conversation_id=str(conversation.pk),
        config=SessionConfig(instructions="x", voice="marin", turn_detection=None, transcription_model="m"),
        options=RelayOptions(recycle_after_s=0.2),
        connector=connect_upstream,
    )
    session.start()
    await session.on_browser_text('{"type": "text", "text": "Hello"}')
    while sum(1 for m in browser.sent if isinstance(m, dict) and m.get("type") == "session.ready") < 2:
        await asyncio.sleep(0.02)
    await session.on_browser_text('{"type": "text", "text": "Again"}')
    while sum(1 for m in browser.sent if isinstance(m, dict) and m.get("type") == "response.done") < 2:
        await asyncio.sleep(0.02)
    await session.end("user_stopped")

    notices = [m for m in browser.sent if isinstance(m, dict) and m.get("type") == "session.reconnecting"]
    assert notices
    assert all(n["planned"] for n in notices)
    assert simulator.connections >= 2
    messages = [m async for m in conversation.messages.order_by("position")]
    assert [(m.role, m.status) for m in messages] == [
        ("user", "completed"),
        ("assistant", "completed"),
        ("user", "completed"),
        ("assistant", "completed"),
    ]


async def test_audio_crosses_the_relay_as_standard_base64_and_a_delta_that_is_not_base64_is_dropped(
    user: Any,
) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from realtime.upstream import connect_upstream

    pcm = bytes(range(256)) * 19  # every byte value, where a wrong alphabet or padding would show
    received: list[dict[str, Any]] = []

    async def upstream(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "session.created", "session": {"id": "sess_1", "model": "m"}}))
        async for raw in ws:
            event = json.loads(raw)
            received.append(event)
            if event["type"] == "session.update":
                await ws.send(json.dumps({"type": "session.updated", "session": {}}))
            elif event["type"] == "input_audio_buffer.append":
                for delta in ("abc", event["audio"]):  # three characters cannot be base64
                    ids = {
                        "response_id": "resp_1",
                        "item_id": "item_1",
                        "output_index": 0,
                        "content_index": 0,
                    }
                    await ws.send(json.dumps({"type": "response.output_audio.delta", **ids, "delta": delta}))

    async with serve(upstream, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        session, browser = await _relay_with(user, f"ws://127.0.0.1:{port}/v1/realtime", connect_upstream)
        session.start()
        while not any(isinstance(m, dict) and m.get("type") == "session.ready" for m in browser.sent):
            await asyncio.sleep(0.01)
        await session.on_browser_bytes(pcm)
        while not any(isinstance(m, bytes) for m in browser.sent):
            await asyncio.sleep(0.01)
        await session.end("user_stopped")

    assert [e["audio"] for e in received if e["type"] == "input_audio_buffer.append"] == [
        base64.b64encode(pcm).decode()
    ]
    assert [m for m in browser.sent if isinstance(m, bytes)] == [pcm]
    assert [m["type"] for m in browser.sent if isinstance(m, dict)][-2:] == [
        "session.ready",
        "assistant.audio.start",
    ]
