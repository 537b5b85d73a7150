"""Many simulated users over both workers for a while: afterwards every turn and usage row is
stored exactly once and nothing is left active."""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any

import numpy as np
import pytest
from asgiref.sync import sync_to_async

from conversations.models import Conversation, Message, Usage
from realtime.models import LiveSession
from tests.cluster.conftest import Cluster, open_client
from tests.factories import eventually, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]

USERS = int(os.environ.get("SOAK_USERS", "40"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
RATE = 24_000
FRAME = RATE * 2 // 10  # 100 ms of PCM16


def _speech(ms: int, freq: float) -> bytes:
    t = np.arange(RATE * ms // 1000) / RATE
    wave = sum(np.sin(2 * math.pi * freq * k * t) / k for k in (1, 2, 3)) / 1.84 * 0.3
    return (wave * 32767).astype("<i2").tobytes() + b"\x00\x00" * (RATE * 800 // 1000)


async def _talk(worker: Any, user: Any, stop_at: float, seen: dict[str, Any]) -> None:
    """Hold voice turns in real time until `stop_at`, then stop; record what the server confirmed."""
    loop = asyncio.get_running_loop()
    client = await open_client(worker, user)
    ready = await client.until("session.ready")
    seen["conversation"] = ready["conversation_id"]
    seen["responses"] = set()
    turn = _speech(600, 180 + 7 * (hash(user.username) % 20))
    while loop.time() < stop_at:
        for start in range(0, len(turn), FRAME):
            await client.ws.send(turn[start : start + FRAME])
            await asyncio.sleep(0.1)  # real time
        done = await client.until("response.done", timeout=30)
        seen["responses"].add(done["response_id"])
    await client.send({"type": "stop"})
    seen["close"] = await client.until_closed(timeout=30)


async def test_a_soak_over_both_workers_stores_every_turn_and_usage_exactly_once(cluster: Cluster) -> None:
    users = [await sync_to_async(make_user)(f"soak{n}") for n in range(USERS)]
    results: list[dict[str, Any]] = [{} for _ in users]
    stop_at = asyncio.get_running_loop().time() + SECONDS

    await asyncio.gather(
        *(_talk(cluster.workers[n % 2], user, stop_at, results[n]) for n, user in enumerate(users))
    )

    await eventually(lambda: _nothing_live(), timeout=20)
    assert all(r["close"] == 1000 for r in results)
    for seen in results:
        conversation = await Conversation.objects.aget(pk=seen["conversation"])
        assert (conversation.status, conversation.end_reason) == ("completed", "user_stopped")
        responses = [u async for u in Usage.objects.filter(conversation=conversation, kind="response")]
        assert {u.upstream_id for u in responses} == seen["responses"]
        assert len(responses) == len(seen["responses"])  # each exactly once
        roles = [m.role async for m in Message.objects.filter(conversation=conversation).order_by("position")]
        assert roles == ["user", "assistant"] * len(seen["responses"])
        usage_total = sum([u.total_tokens async for u in Usage.objects.filter(conversation=conversation)])
        assert conversation.total_tokens == usage_total
    assert sum(len(r["responses"]) for r in results) >= USERS  # every user got answers
    assert not await Conversation.objects.filter(status="active").aexists()


async def _nothing_live() -> bool:
    return not await LiveSession.objects.aexists()
