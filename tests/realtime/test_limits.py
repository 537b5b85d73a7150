"""Limits and control of live sessions: concurrent sessions, budget, length, ending from outside."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from conversations.models import Conversation, Usage
from realtime import registry
from realtime.control import end_session
from realtime.limits import Limits
from realtime.models import LiveSession, UserLimits
from tests.factories import GPT_REALTIME_USAGE, eventually, make_conversation
from tests.realtime.test_voice_turns import _stored


async def _no_live_sessions() -> bool:
    return not await LiveSession.objects.aexists()


pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_live_session_is_registered_while_it_runs_and_removed_when_it_ends(
    connect: Any, user: Any
) -> None:
    browser = await connect()
    ready = await browser.until_type("session.ready")

    live = await LiveSession.objects.aget(user=user)
    assert str(live.conversation_id) == ready["conversation_id"]
    assert live.worker == registry.worker_id()

    await browser.send({"type": "stop"})
    await browser.until_closed()
    await eventually(lambda: _no_live_sessions())


async def test_a_user_over_the_session_limit_is_refused_with_4409(connect: Any, settings: Any) -> None:
    settings.REALTIME_MAX_SESSIONS_PER_USER = 1
    first = await connect()
    await first.until_type("session.ready")

    second = await connect()
    error = await second.until_type("error")

    assert error["code"] == "too_many_sessions"
    assert "the limit is 1" in error["message"]
    assert await second.until_closed() == 4409
    assert await Conversation.objects.acount() == 1  # the refused session created nothing


async def test_sessions_of_a_dead_worker_do_not_count(connect: Any, settings: Any, user: Any) -> None:
    settings.REALTIME_MAX_SESSIONS_PER_USER = 1
    conversation = await sync_to_async(make_conversation)(user)
    await LiveSession.objects.acreate(user=user, conversation=conversation, worker="gone:1")
    await LiveSession.objects.filter(worker="gone:1").aupdate(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )

    browser = await connect()

    assert (await browser.until_type("session.ready"))["type"] == "session.ready"
    assert not await LiveSession.objects.filter(worker="gone:1").aexists()  # swept on admission
    await sync_to_async(conversation.refresh_from_db)()
    assert (conversation.status, conversation.end_reason) == ("interrupted", "server_shutdown")


async def test_sweeping_a_dead_workers_session_spares_a_conversation_resumed_elsewhere(user: Any) -> None:
    conversation = await sync_to_async(make_conversation)(user)
    for worker in ("gone:1", "alive:2"):
        await LiveSession.objects.acreate(user=user, conversation=conversation, worker=worker)
    await LiveSession.objects.filter(worker="gone:1").aupdate(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )

    assert await sync_to_async(registry.sweep_stale)() == 1

    await sync_to_async(conversation.refresh_from_db)()
    assert conversation.status == "active"


async def test_a_user_override_can_turn_voice_off(connect: Any, user: Any) -> None:
    await UserLimits.objects.acreate(user=user, max_sessions=0)
    browser = await connect()

    assert (await browser.until_type("error"))["code"] == "voice_disabled"
    assert await browser.until_closed() == 4409


async def test_a_spent_daily_budget_refuses_new_sessions_with_4429(
    connect: Any, user: Any, settings: Any
) -> None:
    settings.REALTIME_DAILY_TOKEN_BUDGET = 200
    await sync_to_async(make_conversation)(user, usage=[GPT_REALTIME_USAGE])  # 253 tokens today

    browser = await connect()
    error = await browser.until_type("error")

    assert error["code"] == "daily_budget_exhausted"
    assert "200 tokens" in error["message"]
    assert await browser.until_closed() == 4429


async def test_a_session_ends_when_its_answers_spend_the_cost_budget(connect: Any, user: Any) -> None:
    await UserLimits.objects.acreate(user=user, daily_cost=Decimal("0.0001"))
    browser = await connect()
    ready = await browser.until_type("session.ready")

    await browser.send({"type": "text", "text": "Say something costly"})
    error = await browser.until_type("error")
    code = await browser.until_closed()

    assert (error["code"], code) == ("daily_budget_exhausted", 4429)
    conversation, messages, usages = await _stored(ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "limit_reached")
    assert len(usages) == 1  # the answer that spent it is still recorded
    assert [m.role for m in messages] == ["user", "assistant"]


async def test_without_a_budget_answers_are_not_checked_against_one(
    connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[object] = []
    monkeypatch.setattr("realtime.consumers.budget_exhausted", lambda *args: checked.append(args))
    browser = await connect()
    await browser.until_type("session.ready")

    await browser.send({"type": "text", "text": "Hello"})
    await browser.until_type("response.done")
    # A check would run once the answer's usage is stored; give it time to.
    await eventually(lambda: Usage.objects.aexists())
    await asyncio.sleep(0.2)
    await browser.send({"type": "stop"})
    await browser.until_closed()

    assert checked == []


def test_limits_have_a_budget_when_tokens_or_cost_are_capped() -> None:
    def limits(tokens: int, cost: Decimal | None) -> Limits:
        return Limits(max_sessions=2, daily_tokens=tokens, daily_cost=cost, max_session_minutes=120)

    assert not limits(0, None).has_budget
    assert limits(1000, None).has_budget
    assert limits(0, Decimal("0")).has_budget  # a zero cost budget allows nothing priced


async def test_end_session_reaches_the_consumer_through_the_channel_layer(connect: Any, user: Any) -> None:
    browser = await connect()
    ready = await browser.until_type("session.ready")
    live = await LiveSession.objects.aget(user=user)

    await end_session(live.pk)

    error = await browser.until_type("error")
    assert (error["code"], await browser.until_closed()) == ("ended_by_admin", 4498)
    conversation = await Conversation.objects.aget(pk=ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "ended_by_admin")
    await eventually(lambda: _no_live_sessions())
