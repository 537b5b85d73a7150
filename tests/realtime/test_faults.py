"""When the upstream fails, refuses or misbehaves: a clear browser message and a truthful record."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from conversations.models import Conversation
from realtime.auth import websocket_stack
from realtime.consumers import VoiceConsumer
from realtime.upstream import connect_upstream
from tests.realtime.conftest import ORIGIN, Browser, session_cookie, silence, tone
from tests.realtime.test_voice_turns import _stored

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _latest_conversation() -> Conversation:
    return Conversation.objects.order_by("-started_at").first()  # type: ignore[return-value]


async def test_an_upstream_refusing_authentication_fails_the_conversation_with_a_clear_error(
    connect: Any, sim_config: Any
) -> None:
    sim_config.refuse_auth = True
    browser = await connect()

    error = await browser.until_type("error")
    code = await browser.until_closed()

    assert error["code"] == "upstream_auth_failed"
    assert "API key" in error["message"]
    assert code == 4502
    conversation = await _latest_conversation()
    assert (conversation.status, conversation.end_reason) == ("failed", "authentication_failed")


async def test_an_auth_error_after_the_upgrade_is_treated_the_same(connect: Any, sim_config: Any) -> None:
    sim_config.refuse_auth = True
    sim_config.auth_error_after_upgrade = True
    browser = await connect()

    error = await browser.until_type("error")
    await browser.until_closed()

    assert error["code"] == "upstream_auth_failed"
    conversation = await _latest_conversation()
    assert (conversation.status, conversation.end_reason) == ("failed", "authentication_failed")


async def test_an_unreachable_upstream_is_reported_and_recorded(connect: Any, settings: Any) -> None:
    settings.REALTIME_SIMULATOR_URL = "ws://127.0.0.1:9"  # nothing listens on the discard port
    browser = await connect()

    error = await browser.until_type("error")
    await browser.until_closed()

    assert error["code"] == "upstream_unavailable"
    conversation = await _latest_conversation()
    assert (conversation.status, conversation.end_reason) == ("failed", "upstream_error")


async def test_an_upstream_dropping_mid_answer_is_replaced_and_the_conversation_goes_on(
    connect: Any, sim_config: Any, simulator: Any
) -> None:
    sim_config.close_mid_response = True  # the first upstream session drops during its first answer
    sim_config.realtime_factor = 4.0
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.send({"type": "text", "text": "Describe the ocean in detail please"})
    notice = await browser.until_type("session.reconnecting")
    sim_config.close_mid_response = False
    again = await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Are you back?"})
    await browser.until(lambda e: e["type"] == "response.done")
    await browser.send({"type": "stop"})
    assert await browser.until_closed() == 1000

    assert notice["planned"] is False
    assert (again["conversation_id"], again["resumed"]) == (ready["conversation_id"], True)
    assert simulator.connections == 2
    conversation, messages, _ = await _stored(ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "user_stopped")
    assert [(m.role, m.position) for m in messages] == [
        ("user", 1),
        ("assistant", 2),
        ("user", 3),
        ("assistant", 4),
    ]
    partial = messages[1]
    assert partial.status == "interrupted"
    first_answer = [e for e in browser.events if e["type"] == "transcript.assistant.delta"]
    assert partial.text.startswith(first_answer[0]["delta"])
    assert messages[3].status == "completed"
    assert conversation.upstream_session_id  # the second upstream session's id


async def test_an_upstream_error_event_is_shown_safely_and_the_session_goes_on(
    connect: Any, sim_config: Any
) -> None:
    sim_config.error_after_session_created = {
        "type": "server_error",
        "code": "server_error",
        "message": "Internal detail sk-leaky-1234 should never reach a browser",
        "param": None,
        "event_id": None,
    }
    browser = await connect()

    error = await browser.until_type("error")
    await browser.until_type("session.ready")
    await browser.send({"type": "ping"})
    await browser.until_type("pong")

    assert error["code"] == "upstream_error"
    assert error["upstream_code"] == "server_error"
    assert "sk-leaky" not in str(browser.events)


async def test_an_expired_upstream_session_is_replaced_without_ending_the_conversation(
    connect: Any, sim_config: Any, simulator: Any
) -> None:
    sim_config.session_max_s = 0.3
    browser = await connect()
    ready = await browser.until_type("session.ready")

    notice = await browser.until_type("session.reconnecting")
    sim_config.session_max_s = None
    await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Still here?"})
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert notice["planned"] is True
    assert "error" not in browser.types()
    conversation, messages, _ = await _stored(ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "user_stopped")
    assert [m.role for m in messages] == ["user", "assistant"]


async def test_a_failed_transcription_is_stored_as_such_and_the_browser_told(
    connect: Any, sim_config: Any
) -> None:
    sim_config.fail_transcription = True
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(800) + silence(1000))
    error = await browser.until(lambda e: e["type"] == "error")
    if "response.done" not in browser.types():
        await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert error["code"] == "transcription_failed"
    _, messages, _ = await _stored(ready["conversation_id"])
    assert (messages[0].role, messages[0].status, messages[0].error_code) == (
        "user",
        "transcription_failed",
        "audio_unintelligible",
    )


async def test_a_browser_that_goes_quiet_is_ended_by_the_idle_timeout(connect: Any, settings: Any) -> None:
    settings.REALTIME_IDLE_TIMEOUT_S = 0.5
    browser = await connect()
    await browser.until_type("session.ready")

    error = await browser.until_type("error")
    code = await browser.until_closed()

    assert (error["code"], code) == ("idle_timeout", 4408)
    conversation = await _latest_conversation()
    assert (conversation.status, conversation.end_reason) == ("completed", "idle_timeout")


async def test_a_browser_leaving_mid_answer_ends_the_conversation_and_closes_the_upstream(
    connect: Any, sim_config: Any, simulator: Any
) -> None:
    sim_config.realtime_factor = 1.0
    browser = await connect()
    ready = await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Talk for a while about mountains"})
    await browser.until_type("assistant.audio.start")

    await browser.disconnect()

    conversation, messages, _ = await _stored(ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("interrupted", "client_disconnected")
    assert messages[-1].role == "assistant"
    assert messages[-1].status == "interrupted"
    assert simulator.open_connections == 0


async def test_a_replayed_response_done_is_counted_once(user: Any, simulator: Any) -> None:
    async def replaying_connector(target: Any, *, open_timeout: float) -> Any:
        upstream = await connect_upstream(target, open_timeout=open_timeout)
        receive = upstream.recv

        class Replaying:
            """Delivers every response.done twice, as a flaky proxy might."""

            def __init__(self) -> None:
                self.queue: list[str] = []

            def __aiter__(self) -> Any:
                return self

            async def __anext__(self) -> str:
                if self.queue:
                    return self.queue.pop()
                message = await receive()
                if '"response.done"' in message:
                    self.queue.append(message)
                return message

            async def send(self, message: str | bytes, text: bool | None = None) -> None:
                await upstream.send(message, text=text)

            async def close(self) -> None:
                await upstream.close()

        return Replaying()

    app = websocket_stack(
        URLRouter([path("ws/voice/", VoiceConsumer.as_asgi(connector=replaying_connector))])
    )
    communicator = WebsocketCommunicator(
        app, "/ws/voice/", headers=[ORIGIN, (b"cookie", await session_cookie(user))]
    )
    assert (await communicator.connect())[0]
    browser = Browser(communicator)
    ready = await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Count me once"})
    await browser.until_type("response.done")
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    conversation, _, usages = await _stored(ready["conversation_id"])
    assert len(usages) == 1
    assert conversation.total_tokens == usages[0].total_tokens


async def test_no_secret_reaches_a_log_line_or_a_browser_message(
    connect: Any, simulator: Any, sim_config: Any, settings: Any, caplog: Any
) -> None:
    secret = "sk-very-secret-key-0123456789"
    settings.REALTIME_PROVIDER = "openai"
    settings.OPENAI_API_KEY = secret
    settings.OPENAI_REALTIME_URL = simulator.url + "/v1/realtime"
    sim_config.refuse_auth = True
    caplog.set_level(logging.DEBUG)

    browser = await connect()
    await browser.until_closed()

    assert browser.events, "the browser was told something"
    assert secret not in str(browser.events)
    assert secret not in caplog.text
    assert "Authorization" not in caplog.text
