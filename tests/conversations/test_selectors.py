"""Reads for history: ownership, newest first, search, filters, order of turns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from conversations import selectors, services
from conversations.models import Conversation

pytestmark = pytest.mark.django_db


def _conversation(
    owner: Any, *, title: str = "", turns: tuple[str, ...] = (), days_ago: int = 0
) -> Conversation:
    conversation = services.conversation_start(owner=owner, provider="simulator", model="gpt-realtime")
    for n, text in enumerate(turns):
        role = "user" if n % 2 == 0 else "assistant"
        services.message_complete(conversation_id=conversation.pk, item_id=f"item_{n}", role=role, text=text)
    if title:
        services.conversation_rename(conversation=conversation, title=title)
    Conversation.objects.filter(pk=conversation.pk).update(
        started_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    return conversation


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password="x")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="bob", password="x")


def test_the_list_holds_only_the_owners_conversations_newest_first(alice: Any, bob: Any) -> None:
    old = _conversation(alice, title="old", days_ago=3)
    new = _conversation(alice, title="new", days_ago=0)
    _conversation(bob, title="bob's")

    assert list(selectors.conversation_list(owner=alice)) == [new, old]


def test_the_list_counts_messages(alice: Any) -> None:
    _conversation(alice, turns=("hi", "hello", "bye"))

    assert selectors.conversation_list(owner=alice).get().message_count == 3


def test_search_matches_titles_and_transcripts_case_insensitively_once_each(alice: Any, bob: Any) -> None:
    by_title = _conversation(alice, title="Rome trip")
    by_text = _conversation(alice, turns=("Tell me about rome", "Rome is old", "And ROME today?"))
    _conversation(alice, turns=("Paris",))
    _conversation(bob, turns=("rome for bob",))

    found = list(selectors.conversation_list(owner=alice, search="  rome "))

    assert sorted(c.pk for c in found) == sorted([by_title.pk, by_text.pk])
    assert next(c for c in found if c.pk == by_text.pk).message_count == 3


def test_filters_by_status_and_start_date(alice: Any) -> None:
    recent = _conversation(alice, days_ago=1)
    old = _conversation(alice, days_ago=10)
    services.conversation_finish(conversation_id=old.pk, end_reason="user_stopped")
    now = timezone.now()

    assert list(selectors.conversation_list(owner=alice, status="completed")) == [old]
    assert list(selectors.conversation_list(owner=alice, started_from=now - dt.timedelta(days=2))) == [recent]
    assert list(selectors.conversation_list(owner=alice, started_before=now - dt.timedelta(days=2))) == [old]


def test_get_returns_none_for_another_users_conversation(alice: Any, bob: Any) -> None:
    conversation = _conversation(bob)

    assert selectors.conversation_get(owner=alice, conversation_id=conversation.pk) is None


def test_get_prefetches_turns_in_order_and_usage(alice: Any, django_assert_num_queries: Any) -> None:
    conversation = _conversation(alice, turns=("a", "b", "c"))
    services.usage_record(conversation_id=conversation.pk, upstream_id="resp_1", kind="response", usage={})

    with django_assert_num_queries(3):
        found = selectors.conversation_get(owner=alice, conversation_id=conversation.pk)
        assert found is not None
        texts = [m.text for m in found.messages.all()]
        usages = list(found.usages.all())

    assert texts == ["a", "b", "c"]
    assert len(usages) == 1


def test_messages_come_in_conversation_order(alice: Any) -> None:
    conversation = _conversation(alice, turns=("first", "second"))

    assert [m.text for m in selectors.conversation_messages(conversation_id=conversation.pk)] == [
        "first",
        "second",
    ]


def test_history_for_resume_uses_only_what_was_heard_of_an_interrupted_answer(alice: Any) -> None:
    conversation = services.conversation_start(owner=alice, provider="simulator")
    cid = conversation.pk
    services.message_complete(conversation_id=cid, item_id="u1", role="user", text="Tell me a story")
    services.message_complete(
        conversation_id=cid, item_id="a1", role="assistant", text="one two three four", audio_duration_ms=1000
    )
    services.message_interrupt(conversation_id=cid, item_id="a1", played_ms=500)
    services.message_transcription_failed(conversation_id=cid, item_id="u2")

    history = selectors.conversation_history(conversation_id=cid, token_budget=1000)

    assert history == [("user", "Tell me a story"), ("assistant", "one two")]


def test_history_for_resume_keeps_the_most_recent_turns_within_the_budget(alice: Any) -> None:
    conversation = _conversation(alice, turns=tuple(f"{n:02d}" + "x" * 38 for n in range(10)))

    history = selectors.conversation_history(conversation_id=conversation.pk, token_budget=50)

    # Each 40-character turn is estimated at 10 + 4 tokens: three fit in 50.
    assert [text[:2] for _, text in history] == ["07", "08", "09"]


def test_usage_by_day_sums_tokens_and_cost_per_day_for_one_owner_or_everyone(alice: Any, bob: Any) -> None:
    from decimal import Decimal

    from conversations.models import Usage
    from tests.factories import GPT_REALTIME_USAGE, add_usage, make_conversation

    mine = make_conversation(alice, usage=[GPT_REALTIME_USAGE, GPT_REALTIME_USAGE])
    unpriced = make_conversation(alice, model="my-deployment", usage=[GPT_REALTIME_USAGE])
    add_usage(make_conversation(bob), GPT_REALTIME_USAGE)
    yesterday = timezone.now() - dt.timedelta(days=1)
    Usage.objects.filter(conversation=unpriced).update(created_at=yesterday)

    rows = selectors.usage_by_day(owner=alice)

    assert [row["day"] for row in rows] == [yesterday.date(), timezone.now().date()]
    assert (rows[0]["total_tokens"], rows[0]["cost"], rows[0]["unpriced"]) == (253, Decimal("0"), 1)
    assert (rows[1]["total_tokens"], rows[1]["cost"], rows[1]["reports"]) == (506, Decimal("0.0139312"), 2)
    assert rows[1]["output_audio_tokens"] == 182
    assert sum(row["reports"] for row in selectors.usage_by_day(owner=None)) == 4
    assert selectors.usage_by_day(owner=alice, date_from=timezone.now().date())[0]["reports"] == 2
    assert selectors.usage_by_day(owner=alice, date_to=yesterday.date())[0]["reports"] == 1
    assert mine.cost == Decimal("0.0139312")
