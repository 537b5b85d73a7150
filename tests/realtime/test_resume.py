"""Resuming a conversation: earlier turns go upstream first, bounded, and new turns append."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from tests.realtime.conftest import ORIGIN, Browser, recording_app, session_cookie
from tests.realtime.test_voice_turns import _stored

pytestmark = pytest.mark.django_db(transaction=True)


async def _open(app: Any, user: Any, query: str = "") -> Browser:
    communicator = WebsocketCommunicator(
        app, f"/ws/voice/{query}", headers=[ORIGIN, (b"cookie", await session_cookie(user))]
    )
    assert (await communicator.connect())[0]
    return Browser(communicator)


async def test_a_resumed_conversation_replays_its_turns_before_new_audio_and_continues(
    user: Any, simulator: Any
) -> None:
    first = await _open(recording_app([]), user)
    ready = await first.until_type("session.ready")
    await first.send({"type": "text", "text": "My name is Ann"})
    answer = await first.until_type("transcript.assistant.done")
    await first.until_type("response.done")
    await first.send({"type": "stop"})
    await first.until_closed()

    sent: list[dict[str, Any]] = []
    second = await _open(recording_app(sent), user, f"?conversation={ready['conversation_id']}")
    resumed = await second.until_type("session.ready")
    await second.send({"type": "text", "text": "What is my name?"})
    await second.until_type("response.done")
    await second.send({"type": "stop"})
    await second.until_closed()

    assert resumed["conversation_id"] == ready["conversation_id"]
    assert resumed["resumed"] is True
    replayed = [e["item"] for e in sent if e["type"] == "conversation.item.create"][:2]
    assert [(i["role"], i["content"][0]["text"]) for i in replayed] == [
        ("user", "My name is Ann"),
        ("assistant", answer["text"]),
    ]
    types = [e["type"] for e in sent]
    assert types.index("session.update") < types.index("conversation.item.create")
    conversation, messages, _ = await _stored(ready["conversation_id"])
    assert [(m.role, m.position) for m in messages] == [
        ("user", 1),
        ("assistant", 2),
        ("user", 3),
        ("assistant", 4),
    ]
    assert messages[2].text == "What is my name?"
    assert conversation.status == "completed"


async def test_history_replay_is_bounded_to_the_most_recent_turns(
    user: Any, simulator: Any, settings: Any
) -> None:
    from asgiref.sync import sync_to_async

    from tests.factories import make_conversation

    turns = [("user" if n % 2 == 0 else "assistant", f"turn number {n} " + "x" * 200) for n in range(40)]
    conversation = await sync_to_async(make_conversation)(user, turns=turns, provider="simulator")
    settings.REALTIME_HISTORY_TOKENS = 600  # about ten of these turns

    sent: list[dict[str, Any]] = []
    browser = await _open(recording_app(sent), user, f"?conversation={conversation.pk}")
    await browser.until_type("session.ready")
    await browser.send({"type": "stop"})
    await browser.until_closed()

    replayed = [e["item"]["content"][0]["text"] for e in sent if e["type"] == "conversation.item.create"]
    assert 0 < len(replayed) < 40
    assert replayed[-1].startswith("turn number 39 ")
    assert replayed == [text for _, text in turns][-len(replayed) :]
