"""Hard days for a cluster: each fault ends in a defined state with nothing acknowledged lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from conversations.models import Conversation, Usage
from realtime.models import LiveSession
from tests.cluster.conftest import Cluster, TcpProxy, admin_post, open_client, session_cookie
from tests.factories import eventually, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def alice() -> Any:
    return await sync_to_async(make_user)("alice")


@pytest.fixture
def slow_answers(simulator: Any) -> None:
    simulator.realtime_factor = 1.0


async def _turns(conversation_id: str) -> list[tuple[str, str]]:
    conversation = await Conversation.objects.aget(pk=conversation_id)
    return [(m.role, m.status) async for m in conversation.messages.order_by("position")]


async def test_the_upstream_killed_mid_answer_is_replaced_and_the_conversation_goes_on(
    slow_answers: None, cluster: Cluster, alice: Any
) -> None:
    client = await open_client(cluster.workers[0], alice)
    ready = await client.until("session.ready")
    await client.send({"type": "text", "text": "Tell me about rivers"})
    await client.until("assistant.audio.start")

    cluster.simulator.kill()
    notice = await client.until("session.reconnecting")
    await asyncio.to_thread(cluster.simulator.start)
    resumed = await client.until("session.ready", timeout=30)
    await client.send({"type": "text", "text": "And lakes?"})
    done = await client.until("response.done", timeout=30)
    await client.send({"type": "stop"})

    assert await client.until_closed() == 1000
    assert notice["planned"] is False
    assert resumed["resumed"] is True
    assert await _turns(ready["conversation_id"]) == [
        ("user", "completed"),
        ("assistant", "interrupted"),
        ("user", "completed"),
        ("assistant", "completed"),
    ]
    assert await Usage.objects.filter(upstream_id=done["response_id"]).acount() == 1


async def test_a_redis_restart_leaves_conversations_running_and_end_session_working(
    cluster: Cluster, alice: Any
) -> None:
    client = await open_client(cluster.workers[0], alice)
    ready = await client.until("session.ready")

    await asyncio.to_thread(cluster.redis.stop)
    await client.send({"type": "text", "text": "Are you still there?"})
    await client.until("response.done")  # the voice never depends on Redis
    await asyncio.to_thread(cluster.redis.start)
    await asyncio.sleep(3)  # heartbeats (1 s here) re-join the session's group in the new Redis

    live = await LiveSession.objects.aget(user=alice)
    admin = await sync_to_async(make_user)("admin", is_staff=True, is_superuser=True)
    status = await sync_to_async(admin_post)(  # through the other worker and the restarted Redis
        cluster.workers[1],
        await session_cookie(admin),
        "/admin/realtime/livesession/",
        {"action": "end_selected_sessions", "_selected_action": str(live.pk), "index": "0"},
    )
    assert status == 302
    error = await client.until("error")

    assert (error["code"], await client.until_closed()) == ("ended_by_admin", 4498)
    conversation = await Conversation.objects.aget(pk=ready["conversation_id"])
    assert (conversation.status, conversation.end_reason) == ("completed", "ended_by_admin")
    assert await _turns(ready["conversation_id"]) == [("user", "completed"), ("assistant", "completed")]


@pytest.fixture
async def db_proxy(worker_env: dict[str, str]) -> Any:
    """Workers reach PostgreSQL through a proxy the test can cut."""
    proxy = TcpProxy(int(connection.settings_dict.get("PORT") or 5432))
    await proxy.start()
    worker_env["DATABASE_URL"] = worker_env["DATABASE_URL"].replace(
        f":{connection.settings_dict.get('PORT') or 5432}/", f":{proxy.port}/"
    )
    yield proxy
    await proxy.cut()


async def test_a_database_outage_during_a_turn_loses_nothing(
    db_proxy: TcpProxy, cluster: Cluster, alice: Any
) -> None:
    client = await open_client(cluster.workers[0], alice)
    ready = await client.until("session.ready")

    await db_proxy.cut()
    await client.send({"type": "text", "text": "Remember this while the database is away"})
    done = await client.until("response.done")  # the conversation itself goes on
    await asyncio.sleep(1.5)  # the writes queued meanwhile are being retried
    await db_proxy.start()
    await client.send({"type": "stop"})

    assert await client.until_closed(timeout=30) == 1000
    await eventually(lambda: _ended(ready["conversation_id"]), timeout=20)
    assert await _turns(ready["conversation_id"]) == [("user", "completed"), ("assistant", "completed")]
    assert await Usage.objects.filter(upstream_id=done["response_id"]).acount() == 1


async def _ended(conversation_id: str) -> bool:
    conversation = await Conversation.objects.aget(pk=conversation_id)
    return conversation.status == "completed"
