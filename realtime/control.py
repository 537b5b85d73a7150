"""Reaching live sessions on whichever worker holds them, through the channel layer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from conversations.models import Conversation
from realtime.models import session_group


async def end_session(
    session_id: uuid.UUID | str, reason: str = Conversation.EndReason.ENDED_BY_ADMIN
) -> None:
    """Ask the consumer holding this session to end it; a no-op if nobody holds it any more."""
    await get_channel_layer().group_send(session_group(session_id), {"type": "voice.end", "reason": reason})


def end_sessions(
    session_ids: Iterable[uuid.UUID | str], reason: str = Conversation.EndReason.ENDED_BY_ADMIN
) -> None:
    """The same from synchronous code (admin actions, management commands)."""
    for session_id in session_ids:
        async_to_sync(end_session)(session_id, reason)
