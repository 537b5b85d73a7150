"""Writes applied together store exactly what the same writes one by one would, in fewer queries."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conversations import services, writes
from conversations.models import Conversation, Message, Usage
from tests.factories import GPT_REALTIME_USAGE, make_user

pytestmark = pytest.mark.django_db

Write = tuple[Callable[..., Any], dict[str, Any]]
TRANSCRIPTION_USAGE = {"type": "tokens", "input_tokens": 13, "output_tokens": 5, "total_tokens": 18}


def add(item: str, role: str = "user", **extra: Any) -> Write:
    return services.message_add, {"item_id": item, "role": role, "kind": "audio", **extra}


def complete(item: str, role: str, text: str, **extra: Any) -> Write:
    return services.message_complete, {"item_id": item, "role": role, "text": text, **extra}


def usage(upstream_id: str, kind: str = "response", **extra: Any) -> Write:
    payload = GPT_REALTIME_USAGE if kind == "response" else TRANSCRIPTION_USAGE
    return services.usage_record, {"upstream_id": upstream_id, "kind": kind, "usage": payload, **extra}


def interrupt(item: str, played_ms: int, **extra: Any) -> Write:
    return services.message_interrupt, {"item_id": item, "played_ms": played_ms, **extra}


def failed(item: str) -> Write:
    return services.message_transcription_failed, {"item_id": item, "error_code": "bad_audio"}


SCENARIOS: dict[str, list[Write]] = {
    "a full voice turn": [
        add("u1"),
        complete("u1", "user", "Plan a trip to Rome"),
        usage("u1", "transcription", model="gpt-4o-transcribe"),
        add("a1", "assistant"),
        complete("a1", "assistant", "Rome in spring is lovely.", audio_duration_ms=2000),
        usage("r1", status="completed"),
    ],
    "a transcript arriving after the answer": [
        add("u1"),
        add("a1", "assistant"),
        complete("a1", "assistant", "Sure.", audio_duration_ms=800),
        complete("u1", "user", "Can you help"),
    ],
    "a transcript for an item never added": [complete("u9", "user", "hello there")],
    "an answer cut off before its transcript was done": [
        add("a1", "assistant"),
        interrupt("a1", 500, audio_duration_ms=1000),
        complete("a1", "assistant", "one two three four five six"),
    ],
    "an interrupt clamped to the audio delivered": [
        add("a1", "assistant"),
        complete("a1", "assistant", "one two three", audio_duration_ms=600),
        interrupt("a1", 5000),
    ],
    "an interrupt of an unknown or a user item": [add("u1"), interrupt("u1", 10), interrupt("nope", 10)],
    "replayed items and usage": [
        add("u1", text="typed", kind="text", status="completed"),
        add("u1", text="typed again", kind="text", status="completed"),
        usage("r1"),
        usage("r1"),
        usage("r2", model="no-such-model"),
    ],
    "a failed transcription, then its transcript": [add("u1"), failed("u1"), complete("u1", "user", "late")],
    "an over-long usage id, twice": [usage("x" * 300), usage("x" * 300)],
    "a duration usage report": [
        (
            services.usage_record,
            {"upstream_id": "d1", "kind": "transcription", "usage": {"type": "duration", "seconds": 2.5}},
        ),
    ],
}


def stored(conversation: Conversation) -> dict[str, Any]:
    """Everything the writes can change, without ids and timestamps."""
    conversation.refresh_from_db()
    fields = ("title", "total_tokens", "input_tokens", "output_audio_tokens", "cost", "unpriced_usage_count")
    return {
        "conversation": {name: getattr(conversation, name) for name in fields},
        "messages": list(
            conversation.messages.order_by("position").values_list(
                "position",
                "item_id",
                "role",
                "kind",
                "text",
                "status",
                "heard_text",
                "played_ms",
                "audio_duration_ms",
                "error_code",
            )
        ),
        "usage": sorted(
            Usage.objects.filter(conversation=conversation).values_list(
                "upstream_id", "kind", "status", "model", "total_tokens", "cost", "duration_seconds"
            )
        ),
    }


def fresh_conversation() -> Conversation:
    return services.conversation_start(owner=make_user(), provider="openai", model="gpt-realtime")


def with_id(conversation: Conversation, writes: list[Write]) -> list[Write]:
    return [(write, {"conversation_id": conversation.pk, **kwargs}) for write, kwargs in writes]


@pytest.mark.parametrize("name", SCENARIOS)
def test_writes_applied_together_store_what_one_by_one_would(name: str) -> None:
    one_by_one, together = fresh_conversation(), fresh_conversation()
    for write, kwargs in with_id(one_by_one, SCENARIOS[name]):
        write(**kwargs)

    services.write_together(with_id(together, SCENARIOS[name]))

    assert stored(together) == stored(one_by_one)


def test_writes_together_continue_after_stored_turns_and_keep_a_chosen_title() -> None:
    conversation = fresh_conversation()
    services.message_complete(conversation_id=conversation.pk, item_id="u0", role="user", text="first")
    services.conversation_rename(conversation=conversation, title="Mine")

    services.write_together(
        with_id(conversation, [complete("u0", "user", "first, again"), *SCENARIOS["a full voice turn"]])
    )

    assert stored(conversation)["conversation"]["title"] == "Mine"
    assert [m[:2] for m in stored(conversation)["messages"]] == [(1, "u0"), (2, "u1"), (3, "a1")]


def test_a_whole_turn_together_takes_a_handful_of_queries() -> None:
    conversation = fresh_conversation()
    writes = with_id(conversation, SCENARIOS["a full voice turn"])

    with CaptureQueriesContext(connection) as queries:
        services.write_together(writes)

    # Lock, turns, usage ids, last position, two INSERTs, the totals: not five for each of six writes.
    assert len(queries.captured_queries) <= 7


def test_items_first_added_and_usage_reports_are_not_looked_up_in_a_batch() -> None:
    conversation = fresh_conversation()
    writes = with_id(conversation, SCENARIOS["a full voice turn"])

    with CaptureQueriesContext(connection) as queries:
        services.write_together(writes)

    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in selects if "item_id" in sql or "upstream_id" in sql]
    assert len(stored(conversation)["messages"]) == 2


def test_a_replayed_item_and_report_in_a_later_batch_are_stored_once() -> None:
    conversation = fresh_conversation()
    services.write_together(with_id(conversation, [add("u1"), usage("r1")]))
    replayed = [add("u1"), complete("u1", "user", "hello"), usage("r1"), usage("r2"), add("a1", "assistant")]

    services.write_together(with_id(conversation, replayed))

    one_by_one = fresh_conversation()
    for write, kwargs in with_id(one_by_one, [add("u1"), usage("r1"), *replayed]):
        write(**kwargs)
    assert stored(conversation) == stored(one_by_one)
    assert [m[1] for m in stored(conversation)["messages"]] == ["u1", "a1"]
    assert conversation.usages.count() == 2


@pytest.mark.parametrize("name", SCENARIOS)
def test_writes_split_over_two_batches_store_what_one_batch_would(name: str) -> None:
    # As real turns come: a turn completed in a batch after the one that added it.
    one_batch, two_batches = fresh_conversation(), fresh_conversation()
    services.write_together(with_id(one_batch, SCENARIOS[name]))

    half = (len(SCENARIOS[name]) + 1) // 2
    services.write_together(with_id(two_batches, SCENARIOS[name][:half]))
    services.write_together(with_id(two_batches, SCENARIOS[name][half:]))

    assert stored(two_batches) == stored(one_batch)


def test_a_stored_turn_is_read_as_the_orm_reads_it() -> None:
    conversation = fresh_conversation()
    services.write_together(
        with_id(
            conversation,
            [add("a1", "assistant"), complete("a1", "assistant", "one two", audio_duration_ms=800)],
        )
    )
    services.message_interrupt(conversation_id=conversation.pk, item_id="a1", played_ms=400)
    orm = Message.objects.get(conversation=conversation, item_id="a1")

    with transaction.atomic():
        ours = writes.ConversationWrites([conversation.pk], item_ids=[(conversation.pk, "a1")])._message(
            conversation.pk, "a1"
        )
        instance = ours.instance()

    assert ours.stored
    for name in writes.TURN_FIELDS:
        theirs, mine = getattr(orm, name), getattr(ours, name)
        assert (type(mine), mine) == (type(theirs), theirs), name
    # Its instance is the ORM's, the columns the writes do not need loaded when first used.
    assert isinstance(instance, Message)
    assert instance._state.adding is False
    for field in Message._meta.concrete_fields:
        theirs, mine = getattr(orm, field.attname), getattr(instance, field.attname)
        assert (type(mine), mine) == (type(theirs), theirs), field.name


def test_completing_a_stored_turn_moves_its_update_time_only() -> None:
    conversation = fresh_conversation()
    services.write_together(with_id(conversation, [add("u1"), add("u2")]))
    before = {m.item_id: m.updated_at for m in conversation.messages.all()}

    services.write_together(with_id(conversation, [complete("u1", "user", "hello")]))

    after = {m.item_id: m.updated_at for m in conversation.messages.all()}
    assert after["u1"] > before["u1"]
    assert after["u2"] == before["u2"]


def test_completing_stored_turns_of_many_conversations_takes_as_many_queries_as_one() -> None:
    def queries_for(count: int) -> int:
        conversations = [fresh_conversation() for _ in range(count)]
        services.write_together(
            interleaved(*(with_id(c, [add("u1"), add("a1", "assistant")]) for c in conversations))
        )
        rest = [complete("u1", "user", "hi"), complete("a1", "assistant", "hello", audio_duration_ms=900)]
        with CaptureQueriesContext(connection) as queries:
            services.write_together(interleaved(*(with_id(c, rest) for c in conversations)))
        assert all(stored(c)["messages"][1][4:6] == ("hello", "completed") for c in conversations)
        return len(queries.captured_queries)

    # The changed turns go in one executemany, which the query log counts once.
    assert queries_for(20) == queries_for(1)


def interleaved(*batches: list[Write]) -> list[Write]:
    """Several conversations' writes mixed as a worker queues them, each conversation's in order."""
    return [write for group in zip(*batches, strict=False) for write in group] + [
        write for batch in batches for write in batch[min(map(len, batches)) :]
    ]


def test_writes_to_several_conversations_together_store_what_one_by_one_would() -> None:
    names = list(SCENARIOS)
    one_by_one = [fresh_conversation() for _ in names]
    together = [fresh_conversation() for _ in names]
    for conversation, name in zip(one_by_one, names, strict=True):
        for write, kwargs in with_id(conversation, SCENARIOS[name]):
            write(**kwargs)

    services.write_together(
        interleaved(*(with_id(c, SCENARIOS[n]) for c, n in zip(together, names, strict=True)))
    )

    assert [stored(c) for c in together] == [stored(c) for c in one_by_one]


def test_a_turn_of_each_of_many_conversations_takes_as_many_queries_as_one() -> None:
    def queries_for(count: int) -> int:
        conversations = [fresh_conversation() for _ in range(count)]
        writes = interleaved(*(with_id(c, SCENARIOS["a full voice turn"]) for c in conversations))
        with CaptureQueriesContext(connection) as queries:
            services.write_together(writes)
        assert all(len(stored(c)["messages"]) == 2 for c in conversations)
        return len(queries.captured_queries)

    # The totals go in one executemany, which the query log counts once.
    assert queries_for(20) == queries_for(1)


def test_stored_turns_and_usage_are_found_beyond_one_querys_parameter_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversation = fresh_conversation()
    turns = with_id(
        conversation, [w for n in range(25) for w in (add(f"u{n}"), usage(f"u{n}", "transcription"))]
    )
    services.write_together(turns)
    before = stored(conversation)
    monkeypatch.setattr(connection.features, "max_query_params", 10)  # five pairs a query

    with CaptureQueriesContext(connection) as queries:
        services.write_together(turns)

    # Each item is found stored, so nothing is appended or counted twice.
    assert stored(conversation) == before
    assert len(before["messages"]) == 25
    assert sum(" OR " in q["sql"] for q in queries.captured_queries) == 10


def test_conversations_beyond_one_querys_parameter_limit_are_locked_and_continued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = list(SCENARIOS)
    one_by_one = [fresh_conversation() for _ in names]
    together = [fresh_conversation() for _ in names]
    for conversation in [*one_by_one, *together]:
        services.message_complete(conversation_id=conversation.pk, item_id="u0", role="user", text="first")
    for conversation, name in zip(one_by_one, names, strict=True):
        for write, kwargs in with_id(conversation, SCENARIOS[name]):
            write(**kwargs)
    monkeypatch.setattr(connection.features, "max_query_params", 2)  # two conversations a query

    with CaptureQueriesContext(connection) as queries:
        services.write_together(
            interleaved(*(with_id(c, SCENARIOS[n]) for c, n in zip(together, names, strict=True)))
        )

    # Every conversation was locked and continued though each query names at most two.
    assert [stored(c) for c in together] == [stored(c) for c in one_by_one]
    by_ids = [q["sql"] for q in queries.captured_queries if " IN (" in q["sql"]]
    # The locking reads, and the last positions of the conversations that add turns.
    adding = [n for n in names if any("item_id" in kwargs for _, kwargs in SCENARIOS[n])]
    assert len(by_ids) == math.ceil(len(names) / 2) + math.ceil(len(adding) / 2)


def test_stored_turns_are_found_by_conversation_and_item_together() -> None:
    first, second = fresh_conversation(), fresh_conversation()
    services.write_together([*with_id(first, [add("a")]), *with_id(second, [add("b")])])

    # "b" in the first conversation and "a" in the second are new, though both ids are stored.
    services.write_together([*with_id(first, [add("b")]), *with_id(second, [add("a")])])

    assert [m[:2] for m in stored(first)["messages"]] == [(1, "a"), (2, "b")]
    assert [m[:2] for m in stored(second)["messages"]] == [(1, "b"), (2, "a")]


def test_writes_to_a_deleted_conversation_are_refused_whole() -> None:
    conversation = fresh_conversation()
    conversation_id = conversation.pk
    conversation.delete()

    alive = fresh_conversation()
    gone = [(write, {**kwargs, "conversation_id": conversation_id}) for write, kwargs in [add("u1")]]
    writes = interleaved(with_id(alive, SCENARIOS["a full voice turn"]), gone)

    with pytest.raises(Conversation.DoesNotExist), transaction.atomic():
        services.write_together(writes)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "write",
    [services.message_add, services.usage_record, services.message_interrupt, services.message_complete],
)
def test_turn_and_usage_writes_can_be_applied_together(write: Callable[..., Any]) -> None:
    assert services.can_write_together(write)


def test_other_writes_cannot() -> None:
    assert not services.can_write_together(services.conversation_finish)
    assert not services.can_write_together(services.conversation_set_upstream_session)


def all_columns(model: type[Message] | type[Usage], conversation: Conversation) -> list[dict[str, Any]]:
    """Every stored column but the ids and insert times, row by row."""
    skip = {"id", "conversation", "created_at", "updated_at"}
    names = [f.name for f in model._meta.concrete_fields if f.name not in skip]
    return list(model.objects.filter(conversation=conversation).order_by("pk").values(*names))


def varied_rows(conversation: Conversation, *, instances: bool = False) -> tuple[list[Any], list[Any]]:
    """Rows with every kind of value: empty and long text, None, enums, decimals, non-ASCII.

    As the batch makes them (`writes.new_row`), or as model instances for `bulk_create`.
    """

    def row(table: type[Message] | type[Usage], /, **values: Any) -> Any:
        return table(**values) if instances else writes.new_row(table, **values)

    messages = [
        row(
            Message,
            conversation_id=conversation.pk,
            position=n + 1,
            role=Message.Role.USER if n % 2 else Message.Role.ASSISTANT,
            kind=Message.Kind.AUDIO,
            item_id=f"item_{n}",
            text=["", "Grüße, 你好 — \"quoted\" 'text' ; DROP TABLE x;", "x" * 5000][n % 3],
            status=Message.Status.INTERRUPTED if n % 4 == 0 else Message.Status.COMPLETED,
            heard_text="heard" if n % 4 == 0 else "",
            played_ms=1200 if n % 4 == 0 else None,
            audio_duration_ms=None if n % 3 else 2000,
        )
        for n in range(90)
    ]
    usages = [
        row(
            Usage,
            conversation_id=conversation.pk,
            upstream_id=f"resp_{n}",
            kind="response",
            status="completed",
            model="gpt-realtime",
            input_text_tokens=n,
            output_audio_tokens=10**12 + n,
            total_tokens=10**12 + 2 * n,
            duration_seconds=Decimal("2.5") if n % 2 else None,
            cost=Decimal("0.0069656000") if n % 3 else None,
        )
        for n in range(120)  # more than one statement may bind on SQLite
    ]
    return messages, usages


@pytest.mark.parametrize("with_ids", [True, False])
def test_the_hand_built_insert_stores_what_bulk_create_stores(with_ids: bool) -> None:
    ours, djangos = fresh_conversation(), fresh_conversation()
    our_messages, our_usages = varied_rows(ours)
    their_messages, their_usages = varied_rows(djangos, instances=True)

    with transaction.atomic():
        writes._insert(Message, our_messages, with_ids=with_ids)
        writes._insert(Usage, our_usages, with_ids=with_ids)
    Message.objects.bulk_create(their_messages)
    Usage.objects.bulk_create(their_usages)

    assert all_columns(Message, ours) == all_columns(Message, djangos)
    assert all_columns(Usage, ours) == all_columns(Usage, djangos)


def test_the_insert_without_ids_leaves_rows_without_them() -> None:
    messages, _ = varied_rows(fresh_conversation())

    writes._insert(Message, messages, with_ids=False)

    assert all(m.pk is None for m in messages)
    assert Message.objects.count() == len(messages)


def test_the_hand_built_insert_gives_rows_their_ids_and_insert_times() -> None:
    conversation = fresh_conversation()
    messages, usages = varied_rows(conversation)

    writes._insert(Message, messages)
    writes._insert(Usage, usages)

    stored_messages = dict(Message.objects.filter(conversation=conversation).values_list("pk", "item_id"))
    assert [stored_messages[m.pk] for m in messages] == [m.item_id for m in messages]
    stored_usages = dict(Usage.objects.filter(conversation=conversation).values_list("pk", "upstream_id"))
    assert [stored_usages[u.pk] for u in usages] == [u.upstream_id for u in usages]
    first = Message.objects.get(pk=messages[0].pk)
    assert first.created_at == messages[0].created_at == messages[0].updated_at
    assert first.updated_at == messages[0].updated_at


def test_values_not_of_their_columns_plain_type_are_stored_as_django_stores_them() -> None:
    ours, djangos = fresh_conversation(), fresh_conversation()

    # An int for text and a bool for a number: Django's preparation turns them into '12345' and 1.
    odd = {"position": 1, "role": "user", "kind": "audio", "item_id": 12345, "played_ms": True}

    writes._insert(Message, [writes.new_row(Message, conversation_id=ours.pk, **odd)])
    Message.objects.bulk_create([Message(conversation=djangos, **odd)])

    assert all_columns(Message, ours) == all_columns(Message, djangos)
    assert Message.objects.get(conversation=ours).item_id == "12345"


@pytest.mark.django_db(transaction=True)
def test_writes_outside_a_transaction_take_one_of_their_own_with_no_savepoint_even_when_replayed() -> None:
    conversation = fresh_conversation()
    services.write_together(with_id(conversation, [add("u1"), usage("r1")]))
    replayed = [add("u1"), complete("u1", "user", "hello"), usage("r1"), usage("r2"), add("a1", "assistant")]

    with CaptureQueriesContext(connection) as queries:
        services.write_together(with_id(conversation, replayed))  # refused once, then looked up

    assert not [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert [m[1] for m in stored(conversation)["messages"]] == ["u1", "a1"]
    assert conversation.usages.count() == 2
