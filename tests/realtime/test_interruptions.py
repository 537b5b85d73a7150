"""Barge-in: what the user heard of an interrupted answer is what is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.conftest import silence, tone
from tests.realtime.test_voice_turns import _stored

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_interrupt_after_the_answer_truncates_it_and_stores_the_heard_part(connect: Any) -> None:
    browser = await connect()
    ready = await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Please tell me something long about the sea"})
    start = await browser.until_type("assistant.audio.start")
    done = await browser.until_type("transcript.assistant.done")
    await browser.until_type("response.done")
    delivered_ms = len(browser.audio) // 48

    await browser.send({"type": "interrupt", "item_id": start["item_id"], "played_ms": delivered_ms // 2})
    await browser.send({"type": "ping"})
    await browser.until_type("pong")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert "error" not in browser.types()
    _, messages, _ = await _stored(ready["conversation_id"])
    answer = messages[1]
    assert (answer.role, answer.status, answer.text) == ("assistant", "interrupted", done["text"])
    assert answer.played_ms == delivered_ms // 2
    assert answer.audio_duration_ms == delivered_ms
    assert answer.heard_text
    assert done["text"].startswith(answer.heard_text)
    assert len(answer.heard_text) < len(done["text"])


async def test_played_ms_beyond_the_audio_delivered_is_clamped(connect: Any) -> None:
    browser = await connect()
    ready = await browser.until_type("session.ready")
    await browser.send({"type": "text", "text": "Hi"})
    start = await browser.until_type("assistant.audio.start")
    done = await browser.until_type("transcript.assistant.done")
    await browser.until_type("response.done")

    await browser.send({"type": "interrupt", "item_id": start["item_id"], "played_ms": 3_000_000})
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert "error" not in browser.types()  # the truncate never asked for more audio than exists
    _, messages, _ = await _stored(ready["conversation_id"])
    assert messages[1].played_ms == len(browser.audio) // 48
    assert messages[1].heard_text == done["text"]


async def test_barge_in_during_generation_cancels_the_answer_and_keeps_what_was_heard(
    connect: Any, sim_config: Any
) -> None:
    sim_config.realtime_factor = 1.0  # the answer is still generating when the user speaks again
    sim_config.user_transcripts = ["Tell me everything you know about whales", "Stop, thanks"]
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.speak(silence(200) + tone(800) + silence(900))
    start = await browser.until_type("assistant.audio.start")
    await browser.until_type("transcript.assistant.delta")
    # The browser stops playback on speech.started and reports what it played.
    await browser.speak(tone(700, freq=180))
    await browser.until(lambda e: e["type"] == "speech.started" and e["item_id"] != start["item_id"])
    played_ms = max(1, len(browser.audio) // 48 // 2)
    await browser.send({"type": "interrupt", "item_id": start["item_id"], "played_ms": played_ms})
    cancelled = await browser.until(lambda e: e["type"] == "response.done")
    await browser.speak(silence(1000))
    await browser.until(lambda e: e["type"] == "response.done" and e["status"] == "completed")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert cancelled["status"] == "cancelled"
    assert [e for e in browser.events if e["type"] == "error"] == []  # cancel/truncate races absorbed
    _, messages, usages = await _stored(ready["conversation_id"])
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    interrupted = messages[1]
    assert interrupted.status == "interrupted"
    assert interrupted.played_ms == played_ms
    assert interrupted.text.startswith(interrupted.heard_text)
    assert messages[3].status == "completed"
    assert sorted(u.status for u in usages if u.kind == "response") == ["cancelled", "completed"]


async def test_an_interrupt_for_an_unknown_item_is_an_error_and_the_session_goes_on(connect: Any) -> None:
    browser = await connect()
    await browser.until_type("session.ready")

    await browser.send({"type": "interrupt", "item_id": "item_nope", "played_ms": 10})
    error = await browser.until_type("error")
    await browser.send({"type": "ping"})

    assert error["code"] == "unknown_item"
    assert await browser.until_type("pong")
