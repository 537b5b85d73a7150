"""The channel layer and database the deployment is configured with (Redis and PostgreSQL in CI)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.db import connection

from conversations import selectors, services


async def test_the_channel_layer_delivers_a_group_message() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("voice-test", channel)
    await layer.group_send("voice-test", {"type": "session.end", "reason": "test"})

    assert await layer.receive(channel) == {"type": "session.end", "reason": "test"}
    await layer.group_discard("voice-test", channel)


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")
async def test_redis_url_puts_the_channel_layer_on_redis() -> None:
    from channels_redis.core import RedisChannelLayer

    assert isinstance(get_channel_layer(), RedisChannelLayer)


@pytest.mark.postgres
@pytest.mark.django_db
def test_transcript_search_uses_the_trigram_index_on_postgresql(django_user_model: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL is not PostgreSQL")
    owner = django_user_model.objects.create_user(username="alice", password="x")
    conversation = services.conversation_start(owner=owner, provider="simulator")
    services.message_complete(conversation_id=conversation.pk, item_id="i1", role="user", text="Rome")
    query = selectors.conversation_list(owner=owner, search="rome")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "message_text_trgm_idx" in plan
    assert [c.pk for c in query] == [conversation.pk]
