"""A worker's live sessions keep their registry rows fresh with one query per beat."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from realtime import heartbeats, registry
from realtime.models import LiveSession
from tests.factories import eventually, make_conversation

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = dt.timedelta(minutes=5)


@sync_to_async
def _stale_sessions(user: Any, count: int) -> list[str]:
    """`count` live-session rows whose heartbeat is five minutes old."""
    ids = []
    for _ in range(count):
        conversation = make_conversation(owner=user, turns=())
        live = LiveSession.objects.create(user=user, conversation=conversation, worker="w:1")
        ids.append(str(live.pk))
    LiveSession.objects.update(heartbeat_at=timezone.now() - LONG_AGO)
    return ids


async def _fresh(session_id: str) -> bool:
    live = await LiveSession.objects.aget(pk=session_id)
    return timezone.now() - live.heartbeat_at < dt.timedelta(seconds=30)


async def test_one_beat_refreshes_every_live_session_of_the_worker_but_no_ended_one(
    user: Any, settings: Any
) -> None:
    settings.REALTIME_HEARTBEAT_S = 1
    first, second, ended = await _stale_sessions(user, 3)
    beat = heartbeats.heartbeat()
    for session_id in (first, second, ended):
        beat.add(session_id)
    beat.discard(ended)

    await eventually(lambda: _fresh(first))

    assert await _fresh(second)
    assert not await _fresh(ended)
    beat.discard(first)
    beat.discard(second)


async def test_the_beat_stops_with_the_last_session_and_starts_with_the_next(user: Any) -> None:
    (only,) = await _stale_sessions(user, 1)
    beat = heartbeats.heartbeat()

    beat.add(only)
    task = beat.task
    beat.discard(only)
    await asyncio.sleep(0)

    assert task is not None
    assert task.cancelled()
    beat.add(only)
    assert beat.task is not None
    assert not beat.task.done()
    beat.discard(only)


async def test_a_failed_beat_is_logged_and_the_next_one_refreshes(
    user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REALTIME_HEARTBEAT_S = 1
    (session_id,) = await _stale_sessions(user, 1)
    real = registry.heartbeat_many
    calls: list[int] = []

    def flaky(*, session_ids: list[str]) -> int:
        calls.append(len(session_ids))
        if len(calls) == 1:
            raise ConnectionError("the database is away")
        return real(session_ids=session_ids)

    monkeypatch.setattr(registry, "heartbeat_many", flaky)
    beat = heartbeats.heartbeat()
    beat.add(session_id)

    await eventually(lambda: _fresh(session_id), timeout=5)

    assert calls[:2] == [1, 1]
    assert "Heartbeat of 1 sessions failed: ConnectionError" in caplog.text
    beat.discard(session_id)


def test_many_sessions_are_refreshed_in_chunks_of_one_query_each(
    django_user_model: Any, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = django_user_model.objects.create_user("beats", password="x")
    ids = [
        str(LiveSession.objects.create(user=user, conversation=make_conversation(owner=user, turns=())).pk)
        for _ in range(5)
    ]
    monkeypatch.setattr(registry, "HEARTBEAT_CHUNK", 2)

    with django_assert_num_queries(3):
        refreshed = registry.heartbeat_many(session_ids=[*ids, "00000000-0000-0000-0000-000000000000"])

    assert refreshed == 5


async def test_a_live_session_in_the_app_is_kept_fresh_by_the_workers_beat(
    connect: Any, user: Any, settings: Any
) -> None:
    settings.REALTIME_HEARTBEAT_S = 1
    browser = await connect()
    await browser.until_type("session.ready")
    await LiveSession.objects.aupdate(heartbeat_at=timezone.now() - LONG_AGO)
    live = await LiveSession.objects.aget(user=user)

    await eventually(lambda: _fresh(str(live.pk)), timeout=5)

    await browser.send({"type": "stop"})
    await browser.until_closed()
