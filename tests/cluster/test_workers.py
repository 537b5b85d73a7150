"""Two workers, one database, one channel layer: limits, control and shutdown hold across them."""

from __future__ import annotations

import signal
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from conversations.models import Conversation
from realtime.models import LiveSession
from tests.cluster.conftest import Cluster, admin_post, open_client, session_cookie
from tests.factories import eventually, make_user


async def _no_live_sessions() -> bool:
    return not await LiveSession.objects.aexists()


async def _no_live_session_of(user: Any) -> bool:
    return not await LiveSession.objects.filter(user=user).aexists()


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def alice() -> Any:
    return await sync_to_async(make_user)("alice")


@pytest.fixture
def one_session_each(worker_env: dict[str, str]) -> None:
    worker_env["REALTIME_MAX_SESSIONS_PER_USER"] = "1"


async def test_the_per_user_session_limit_holds_across_workers(
    one_session_each: None, cluster: Cluster, alice: Any
) -> None:
    a, b = cluster.workers
    first = await open_client(a, alice)
    await first.until("session.ready")

    second = await open_client(b, alice)
    error = await second.until("error")

    assert error["code"] == "too_many_sessions"
    assert await second.until_closed() == 4409
    await first.send({"type": "stop"})
    assert await first.until_closed() == 1000


async def test_end_session_issued_through_one_worker_ends_a_session_held_by_the_other(
    cluster: Cluster, alice: Any
) -> None:
    a, b = cluster.workers
    admin = await sync_to_async(make_user)("admin", is_staff=True, is_superuser=True)
    client = await open_client(a, alice)
    ready = await client.until("session.ready")
    live = await LiveSession.objects.aget(user=alice)
    assert live.worker.endswith(f":{a.process.pid}")  # type: ignore[union-attr]

    status = await sync_to_async(admin_post)(
        b,
        await session_cookie(admin),
        "/admin/realtime/livesession/",
        {"action": "end_selected_sessions", "_selected_action": str(live.pk), "index": "0"},
    )

    assert status == 302
    error = await client.until("error")
    assert (error["code"], await client.until_closed()) == ("ended_by_admin", 4498)
    conversation = await Conversation.objects.aget(pk=ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "ended_by_admin")
    await eventually(lambda: _no_live_sessions())


@pytest.fixture
def slow_answers(simulator: Any) -> None:
    simulator.realtime_factor = 1.0  # answers stream in real time, so they are still going when it matters


@pytest.mark.parametrize(
    "cluster", [("daphne", "daphne"), ("uvicorn", "daphne")], indirect=True, ids=["daphne", "uvicorn"]
)
async def test_a_worker_stopped_with_sigterm_ends_its_sessions_cleanly(
    slow_answers: None, cluster: Cluster, alice: Any
) -> None:
    import asyncio

    a, b = cluster.workers
    bob = await sync_to_async(make_user)("bob")
    on_a = await open_client(a, alice)
    on_b = await open_client(b, bob)
    ready = await on_a.until("session.ready")
    await on_b.until("session.ready")
    await on_a.send({"type": "text", "text": "Tell me a long story about the sea"})
    await on_a.until("assistant.audio.start")

    exit_code = await asyncio.to_thread(a.terminate)

    error = await on_a.until("error")
    assert (error["code"], await on_a.until_closed()) == ("server_restart", 4503)
    # uvicorn re-raises the signal once it has shut down, so it ends as if killed by it.
    assert exit_code == (0 if a.server == "daphne" else -signal.SIGTERM), a.output()[-2000:]
    conversation = await Conversation.objects.aget(pk=ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("interrupted", "server_shutdown")
    turns = [m async for m in conversation.messages.order_by("position")]
    assert [(m.role, m.status) for m in turns] == [("user", "completed"), ("assistant", "interrupted")]
    assert turns[1].text  # what was generated before the signal is kept
    await eventually(lambda: _no_live_session_of(alice))
    # The other worker is untouched.
    await on_b.send({"type": "ping"})
    assert (await on_b.until("pong"))["type"] == "pong"
    await on_b.send({"type": "stop"})
    await on_b.until_closed()
