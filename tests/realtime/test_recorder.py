"""The recorder: every queued write stored once, in order, off the audio path, whatever fails."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from conversations import services
from conversations.models import Conversation, Message, Usage
from realtime import recorder as recorder_module
from realtime.recorder import Recorder
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


def fail_first_attempts(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """The database is away for the writer's next `count` attempts, then back."""
    real_write_all = recorder_module._write_all
    failures = iter([True] * count)

    def flaky(batch: Any, failed: Any) -> None:
        if next(failures, False):
            raise OperationalError("server closed the connection unexpectedly")
        real_write_all(batch, failed)

    monkeypatch.setattr(recorder_module, "_write_all", flaky)


def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches the writer writes from now on, in order."""
    sizes: list[int] = []
    real_write_all = recorder_module._write_all

    def counting(batch: Any, failed: Any) -> None:
        sizes.append(len(batch))
        real_write_all(batch, failed)

    monkeypatch.setattr(recorder_module, "_write_all", counting)
    return sizes


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


async def test_one_bad_write_among_others_spoils_none_of_them_and_is_tried_once(
    conversation: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
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
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "Writing usage_record failed"
    ]


async def test_writes_wait_out_a_database_outage_and_are_stored_once(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(retry_delays=(0.01, 0.01, 0.01))
    fail_first_attempts(monkeypatch, 2)
    queue_turn(recorder, conversation.pk, 1)

    await recorder.close()

    assert [item for _, item, _ in await stored_turns(conversation.pk)] == ["u1", "a1"]
    assert recorder.failed_writes == 0


async def test_writes_given_up_after_the_last_retry_are_counted(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(retry_delays=(0.01,))

    def down(batch: Any, failed: Any) -> None:
        raise OperationalError("could not connect")

    monkeypatch.setattr(recorder_module, "_write_all", down)
    queue_turn(recorder, conversation.pk, 1)

    await recorder.close()

    assert recorder.failed_writes == 5
    assert await stored_turns(conversation.pk) == []


async def test_a_recorder_out_of_retries_gives_up_while_the_others_go_on(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await conversation.__class__.objects.acreate(owner_id=conversation.owner_id, provider="openai")
    patient, impatient = Recorder(retry_delays=(0.01, 0.01)), Recorder(retry_delays=(0.01,))
    fail_first_attempts(monkeypatch, 2)
    queue_turn(patient, conversation.pk, 1)
    queue_turn(impatient, other.pk, 1)

    await asyncio.gather(patient.close(), impatient.close())

    assert [item for _, item, _ in await stored_turns(conversation.pk)] == ["u1", "a1"]
    assert await stored_turns(other.pk) == []
    assert (patient.failed_writes, impatient.failed_writes) == (0, 5)


async def test_writes_queued_while_a_batch_is_written_go_together_in_the_next(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    others = [
        await conversation.__class__.objects.acreate(owner_id=conversation.owner_id, provider="openai")
        for _ in range(9)
    ]
    batches = batch_sizes(monkeypatch)
    recorders = [Recorder() for _ in range(10)]
    for recorder, target in zip(recorders, [conversation, *others], strict=True):
        queue_turn(recorder, target.pk, 1)

    await asyncio.gather(*(r.close() for r in recorders))

    # Queued in one go by ten sessions: written in a few batches, not one per session.
    assert sum(batches) == 50
    assert len(batches) < 10
    for target in [conversation, *others]:
        assert [item for _, item, _ in await stored_turns(target.pk)] == ["u1", "a1"]


async def test_after_a_batch_the_next_rests_in_proportion_and_never_long(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []

    async def slow_apply(self: Any, batch: Any) -> float:
        started = loop.time()
        await asyncio.sleep(0.02)  # a batch taking 20 ms of the database thread's CPU
        spans.append((started, loop.time()))
        for recorder, count in recorder_module._counts(batch).items():
            recorder._done(count)
        return 0.02

    monkeypatch.setattr(recorder_module.Writer, "_apply", slow_apply)
    monkeypatch.setattr(recorder_module, "LINGER_S", 0)
    recorder = Recorder()
    recorder.put(services.conversation_finish, conversation_id=conversation.pk, end_reason="user_stopped")
    await asyncio.sleep(0.005)
    recorder.put(services.conversation_finish, conversation_id=conversation.pk, end_reason="user_stopped")
    await recorder.close()

    (_, first_end), (second_start, _) = spans
    share = recorder_module.WRITE_SHARE
    assert second_start - first_end >= 0.02 * (1 - share) / share * 0.9

    monkeypatch.setattr(recorder_module, "MAX_REST_S", 0.001)
    spans.clear()
    recorder.put(services.conversation_finish, conversation_id=conversation.pk, end_reason="user_stopped")
    await asyncio.sleep(0.005)
    recorder.put(services.conversation_finish, conversation_id=conversation.pk, end_reason="user_stopped")
    await recorder.close()
    (_, first_end), (second_start, _) = spans
    assert second_start - first_end < 0.015


async def test_a_write_that_cannot_go_together_sees_exactly_the_writes_queued_before_it(
    conversation: Conversation,
) -> None:
    other = await conversation.__class__.objects.acreate(owner_id=conversation.owner_id, provider="openai")
    seen: list[list[str]] = []

    def snapshot(*, conversation_id: Any) -> None:
        seen.append(
            list(Message.objects.filter(conversation_id=conversation_id).values_list("item_id", flat=True))
        )

    first, second = Recorder(), Recorder()
    queue_turn(first, conversation.pk, 1)
    queue_turn(second, other.pk, 1)
    first.put(snapshot, conversation_id=conversation.pk)
    queue_turn(first, conversation.pk, 2)
    first.put(snapshot, conversation_id=conversation.pk)
    queue_turn(second, other.pk, 2)

    await asyncio.gather(first.close(), second.close())

    assert seen == [["u1", "a1"], ["u1", "a1", "u2", "a2"]]
    assert [item for _, item, _ in await stored_turns(other.pk)] == ["u1", "a1", "u2", "a2"]


async def test_a_burst_is_written_in_batches_of_about_the_cpu_time_allowed(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    def costly(batch: Any, failed: Any) -> None:
        sizes.append(len(batch))
        until = time.thread_time() + 0.001 * len(batch)  # each write takes 1 ms of CPU
        while time.thread_time() < until:
            pass

    monkeypatch.setattr(recorder_module, "_write_all", costly)
    monkeypatch.setattr(recorder_module, "LINGER_S", 0)
    monkeypatch.setattr(recorder_module, "BATCH_CPU_S", 0.012)
    monkeypatch.setattr(recorder_module, "MAX_REST_S", 0.001)
    recorder = Recorder()
    for _ in range(120):
        recorder.put(services.conversation_finish, conversation_id=conversation.pk, end_reason="user_stopped")

    await recorder.close()

    assert sum(sizes) == 120
    # The first batch follows the first guess (0.5 ms a write); the estimate then settles near
    # 12 writes (the last batch takes what is left).
    assert sizes[0] == int(0.012 / recorder_module.FIRST_CPU_PER_WRITE_S)
    assert all(9 <= size <= 16 for size in sizes[-4:-1])


async def test_a_write_waits_a_moment_for_others_to_join_its_batch_unless_its_session_drains(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = batch_sizes(monkeypatch)
    monkeypatch.setattr(recorder_module, "LINGER_S", 0.2)
    loop = asyncio.get_running_loop()
    first, second = Recorder(), Recorder()
    queue_turn(first, conversation.pk, 1)
    await asyncio.sleep(0.05)
    queue_turn(second, conversation.pk, 2)
    await asyncio.sleep(0.3)
    assert batches == [10]  # both turns, written together once the first had lingered

    queue_turn(first, conversation.pk, 3)
    started = loop.time()
    await first.drain()
    assert loop.time() - started < 0.1
    assert batches == [10, 5]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are set on Linux only")
def test_the_database_thread_gives_way_to_the_event_loop() -> None:
    seen: list[int] = []

    def in_a_thread() -> None:
        recorder_module._lower_this_threads_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()

    assert seen == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + recorder_module.DATABASE_THREAD_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen[0]  # only that thread


async def test_a_bad_write_alone_in_its_session_is_tried_once_and_spoils_no_other_session(
    conversation: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    other = await conversation.__class__.objects.acreate(owner_id=conversation.owner_id, provider="openai")
    bad, good = Recorder(), Recorder()
    bad.put(services.usage_record, conversation_id=other.pk, upstream_id="r1", kind="response", usage=None)
    queue_turn(good, conversation.pk, 1)

    await asyncio.gather(bad.close(), good.close())

    assert [item for _, item, _ in await stored_turns(conversation.pk)] == ["u1", "a1"]
    assert (bad.failed_writes, good.failed_writes) == (1, 0)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "Writing usage_record failed"
    ]


def test_a_batch_of_turns_and_usage_is_one_transaction_with_no_savepoint() -> None:
    owner = make_user()
    first, second = (
        services.conversation_start(owner=owner, provider="openai", model="gpt-realtime") for _ in range(2)
    )
    recorders = {first.pk: Recorder(), second.pk: Recorder()}
    batch = [
        (
            recorders[c.pk],
            (
                services.message_add,
                {"conversation_id": c.pk, "item_id": "u1", "role": "user", "kind": "audio"},
            ),
        )
        for c in (first, second)
    ]
    failed: dict[Recorder, int] = {}

    with CaptureQueriesContext(connection) as queries:
        recorder_module._write_all(batch, failed)

    assert not [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert failed == {}
    assert Message.objects.filter(item_id="u1").count() == 2
