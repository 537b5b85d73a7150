"""The recorder: every queued write stored once, in order, off the audio path, whatever fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from conversations import services
from conversations.models import Conversation, Message, Usage
from realtime import recorder as recorder_module
from realtime.recorder import Recorder, database_turn
from tests.factories import GPT_REALTIME_USAGE, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def conversation() -> Conversation:
    @sync_to_async
    def start() -> Conversation:
        return services.conversation_start(owner=make_user(), provider="openai", model="gpt-realtime")

    return await start()


def queue_turn(recorder: Recorder, conversation_id: Any, n: int) -> None:
    """The writes the relay queues for one voice turn."""
    recorder.put(
        services.message_add, conversation_id=conversation_id, item_id=f"u{n}", role="user", kind="audio"
    )
    recorder.put(
        services.message_complete,
        conversation_id=conversation_id,
        item_id=f"u{n}",
        role="user",
        text=f"Turn {n}",
    )
    recorder.put(
        services.message_add, conversation_id=conversation_id, item_id=f"a{n}", role="assistant", kind="audio"
    )
    recorder.put(
        services.message_complete,
        conversation_id=conversation_id,
        item_id=f"a{n}",
        role="assistant",
        text=f"Answer {n}",
    )
    recorder.put(
        services.usage_record,
        conversation_id=conversation_id,
        upstream_id=f"r{n}",
        kind="response",
        usage=GPT_REALTIME_USAGE,
    )


@sync_to_async
def stored_turns(conversation_id: Any) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("position")
        .values_list("position", "item_id", "text")
    )


async def test_turns_queued_by_several_sessions_are_stored_in_order(conversation: Conversation) -> None:
    other = await conversation.__class__.objects.acreate(owner_id=conversation.owner_id, provider="openai")
    first, second = Recorder(), Recorder()
    first.start()
    second.start()
    for n in range(5):
        queue_turn(first, conversation.pk, n)
        queue_turn(second, other.pk, n)

    await asyncio.gather(first.close(), second.close())

    expected = [
        (p + 1, item, text)
        for p, (item, text) in enumerate(
            (i, t) for n in range(5) for i, t in ((f"u{n}", f"Turn {n}"), (f"a{n}", f"Answer {n}"))
        )
    ]
    assert await stored_turns(conversation.pk) == expected
    assert await stored_turns(other.pk) == expected
    assert await Usage.objects.filter(conversation=conversation).acount() == 5
    assert first.failed_writes == second.failed_writes == 0


async def test_one_bad_write_among_others_spoils_none_of_them(conversation: Conversation) -> None:
    recorder = Recorder()
    recorder.start()
    recorder.put(
        services.message_add, conversation_id=conversation.pk, item_id="u1", role="user", kind="audio"
    )
    # No usage payload at all: this write raises inside the group written together.
    recorder.put(
        services.usage_record, conversation_id=conversation.pk, upstream_id="r1", kind="response", usage=None
    )
    recorder.put(
        services.message_complete, conversation_id=conversation.pk, item_id="u1", role="user", text="kept"
    )

    await recorder.close()

    assert await stored_turns(conversation.pk) == [(1, "u1", "kept")]
    assert recorder.failed_writes == 1


async def test_writes_wait_out_a_database_outage_and_are_stored_once(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(retry_delays=(0.01, 0.01, 0.01))
    real_write_all = recorder._write_all
    failures = iter([True, True])

    def flaky(writes: Any) -> None:
        if next(failures, False):
            raise OperationalError("server closed the connection unexpectedly")
        real_write_all(writes)

    monkeypatch.setattr(recorder, "_write_all", flaky)
    recorder.start()
    queue_turn(recorder, conversation.pk, 1)

    await recorder.close()

    assert [item for _, item, _ in await stored_turns(conversation.pk)] == ["u1", "a1"]
    assert recorder.failed_writes == 0


async def test_writes_given_up_after_the_last_retry_are_counted(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(retry_delays=(0.01,))

    def down(writes: Any) -> None:
        raise OperationalError("could not connect")

    monkeypatch.setattr(recorder, "_write_all", down)
    recorder.start()
    queue_turn(recorder, conversation.pk, 1)

    await recorder.close()

    assert recorder.failed_writes == 5
    assert await stored_turns(conversation.pk) == []


async def test_recorders_take_turns_at_the_database_thread_one_at_a_time() -> None:
    inside = 0
    most_inside = 0

    async def write() -> None:
        nonlocal inside, most_inside
        async with database_turn():
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(5)))

    assert most_inside == 1


async def test_after_a_write_the_next_rests_in_proportion_and_never_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()
    async with database_turn():
        await asyncio.sleep(0.01)  # a write taking 10 ms
    after = loop.time()
    turns = recorder_module._turns[loop]
    share = recorder_module.WRITE_SHARE
    assert 0 < turns.rest_until - after <= (after - before) * (1 - share) / share

    monkeypatch.setattr(recorder_module, "MAX_REST_S", 0.005)
    async with database_turn():
        await asyncio.sleep(0.05)  # a write slowed by a failing database
    assert turns.rest_until - loop.time() <= 0.005
