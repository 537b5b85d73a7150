"""Voice and text turns end to end: browser, real ASGI app, relay, simulator on loopback, database."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from conversations.models import Conversation, Message, Usage
from tests.realtime.conftest import silence, tone

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _stored(conversation_id: str) -> tuple[Conversation, list[Message], list[Usage]]:
    conversation = Conversation.objects.get(pk=conversation_id)
    return conversation, list(conversation.messages.order_by("position")), list(conversation.usages.all())


async def test_a_voice_turn_is_transcribed_answered_with_audio_and_stored_in_order(
    connect: Any, sim_config: Any
) -> None:
    sim_config.user_transcripts = ["What time is it?"]
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(300) + tone(1200) + silence(1200))
    await browser.until_type("response.done")
    if "transcript.user" not in browser.types():
        await browser.until_type("transcript.user")
    await browser.send({"type": "stop"})
    assert await browser.until_closed() == 1000

    conversation, messages, usages = await _stored(ready["conversation_id"])
    assert [(m.role, m.kind, m.status) for m in messages] == [
        ("user", "audio", "completed"),
        ("assistant", "audio", "completed"),
    ]
    assert messages[0].text == "What time is it?"
    assert messages[1].text == next(
        e["text"] for e in browser.events if e["type"] == "transcript.assistant.done"
    )
    assert len(browser.audio) > 0
    assert messages[1].audio_duration_ms == len(browser.audio) // 48
    assert {u.kind for u in usages} == {"response", "transcription"}
    assert conversation.status == "completed"
    assert conversation.end_reason == "user_stopped"
    assert conversation.title == "What time is it?"
    assert conversation.total_tokens == sum(u.total_tokens for u in usages) > 0


async def test_a_text_turn_is_answered_and_stored_as_a_text_turn(connect: Any) -> None:
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.send({"type": "text", "text": "Hello there"})
    done = await browser.until_type("transcript.assistant.done")
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    _, messages, usages = await _stored(ready["conversation_id"])
    assert [(m.role, m.kind, m.text) for m in messages] == [
        ("user", "text", "Hello there"),
        ("assistant", "audio", done["text"]),
    ]
    assert "Hello there" in done["text"]
    assert [u.kind for u in usages] == ["response"]


async def test_a_text_turn_sent_during_a_response_waits_for_it_instead_of_failing(
    connect: Any, sim_config: Any
) -> None:
    sim_config.realtime_factor = 2.0  # the first answer takes a while to generate
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.send({"type": "text", "text": "first question"})
    await browser.until_type("transcript.assistant.delta")
    await browser.send({"type": "text", "text": "second question"})
    await browser.until_type("response.done")
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert "error" not in browser.types()
    _, messages, usages = await _stored(ready["conversation_id"])
    assert [(m.role, m.text) for m in messages][0::2] == [
        ("user", "first question"),
        ("user", "second question"),
    ]
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert all(m.status == "completed" for m in messages)
    assert len(usages) == 2


async def test_a_late_transcription_still_stores_the_user_turn_before_the_answer(
    connect: Any, sim_config: Any
) -> None:
    sim_config.user_transcripts = ["Tell me a joke"]
    sim_config.transcription_delay_ms = 400  # completes after the assistant has answered
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(1000) + silence(1000))
    await browser.until_type("response.done")
    await browser.until_type("transcript.user")
    assert browser.types().index("response.done") < browser.types().index("transcript.user")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    _, messages, _ = await _stored(ready["conversation_id"])
    assert (messages[0].role, messages[0].text) == ("user", "Tell me a joke")
    assert messages[1].role == "assistant"


async def test_audio_sent_before_the_session_is_ready_is_delivered_in_order(
    connect: Any, sim_config: Any
) -> None:
    sim_config.user_transcripts = ["early words"]
    browser = await connect()
    # Everything goes out before session.ready can have arrived: the relay buffers it.
    await browser.speak(silence(200) + tone(1000) + silence(1000))
    ready = await browser.until_type("session.ready")
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    _, messages, usages = await _stored(ready["conversation_id"])
    assert (messages[0].role, messages[0].text) == ("user", "early words")
    # 1 audio token per 100 ms (section 6): the whole 2.2 s reached the upstream, padding included.
    transcription = next(u for u in usages if u.kind == "transcription")
    assert transcription.input_audio_tokens >= 10


async def test_the_greeting_makes_the_assistant_speak_first(connect: Any, settings: Any) -> None:
    settings.REALTIME_GREETING = "Greet the user and offer help."
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    _, messages, _ = await _stored(ready["conversation_id"])
    assert [m.role for m in messages] == ["assistant"]
    assert len(browser.audio) > 0


async def test_ping_is_answered_with_pong(connect: Any) -> None:
    browser = await connect()
    await browser.until_type("session.ready")

    await browser.send({"type": "ping"})

    assert (await browser.until_type("pong")) == {"type": "pong"}


async def test_an_openai_configuration_pointed_at_any_ga_server_holds_a_spoken_conversation(
    connect: Any, simulator: Any, sim_config: Any, settings: Any
) -> None:
    settings.REALTIME_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test-key"
    settings.OPENAI_REALTIME_URL = simulator.url + "/v1/realtime"
    sim_config.api_key = "sk-test-key"
    sim_config.user_transcripts = ["Is this OpenAI?"]
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(800) + silence(1000))
    await browser.until_type("response.done")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    conversation, messages, usages = await _stored(ready["conversation_id"])
    assert ready["provider"] == "openai"
    assert conversation.provider == "openai"
    assert [(m.role, m.status) for m in messages] == [("user", "completed"), ("assistant", "completed")]
    response_usage = next(u for u in usages if u.kind == "response")
    assert response_usage.cost is not None
    assert response_usage.cost > 0


async def test_a_voice_live_turn_uses_its_dialect_end_to_end(
    connect: Any, simulator: Any, sim_config: Any, settings: Any
) -> None:
    settings.REALTIME_PROVIDER = "azure_voicelive"
    settings.AZURE_VOICELIVE_ENDPOINT = simulator.url.replace("ws://", "http://")
    settings.AZURE_VOICELIVE_API_KEY = "vl-key"
    settings.AZURE_VOICELIVE_MODEL = "gpt-realtime"
    sim_config.user_transcripts = ["Hallo Azure"]
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(800) + silence(1000))
    await browser.until_type("response.done")
    if "transcript.user" not in browser.types():
        await browser.until_type("transcript.user")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    conversation, messages, usages = await _stored(ready["conversation_id"])
    assert conversation.provider == "azure_voicelive"
    assert (messages[0].role, messages[0].text) == ("user", "Hallo Azure")
    assert messages[1].role == "assistant"
    assert messages[1].text
    assert [u.kind for u in usages] == ["response"]  # Voice Live reports no transcription usage
    assert len(browser.audio) > 0


async def test_an_azure_preview_deployment_speaks_the_beta_dialect_end_to_end(
    connect: Any, simulator: Any, sim_config: Any, settings: Any
) -> None:
    settings.REALTIME_PROVIDER = "azure_openai"
    settings.AZURE_OPENAI_ENDPOINT = simulator.url
    settings.AZURE_OPENAI_API_KEY = "az-key"
    settings.AZURE_OPENAI_DEPLOYMENT = "my-realtime"
    settings.AZURE_OPENAI_API_VERSION = "2025-04-01-preview"
    sim_config.user_transcripts = ["Preview route"]
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(800) + silence(1000))
    await browser.until_type("response.done")
    if "transcript.user" not in browser.types():
        await browser.until_type("transcript.user")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    conversation, messages, usages = await _stored(ready["conversation_id"])
    assert "error" not in browser.types()  # the flat beta session was accepted
    assert conversation.provider == "azure_openai"
    assert [(m.role, m.status) for m in messages] == [("user", "completed"), ("assistant", "completed")]
    assert messages[0].text == "Preview route"
    assert len(browser.audio) > 0
    assert {u.kind for u in usages} == {"response", "transcription"}
