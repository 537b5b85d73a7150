"""Client commands on conversation items: create, truncate, delete, retrieve (§2, §4.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .conversation import Item
from .errors import ProtocolError, invalid_type, missing_parameter
from .items import parse_item

if TYPE_CHECKING:
    from .session import RealtimeSession


def find_item(session: RealtimeSession, item_id: Any, action: str) -> Item:
    """The item a command names, or the upstream-style `item_<action>_invalid_item_id` error."""
    if item_id is None:
        raise missing_parameter("item_id")
    item = session.conversation.find(item_id)
    if item is None:
        code = f"item_{action}_invalid_item_id"
        raise ProtocolError(code, f"Item with item_id '{item_id}' not found.", "item_id")
    return item


async def create_item(session: RealtimeSession, event: dict[str, Any]) -> None:
    """conversation.item.create: GA answers added + done, beta answers created."""
    rate = session.settings.input_rate
    item = parse_item(event.get("item"), dialect=session.dialect, ids=session.ids, rate=rate)
    if session.conversation.find(item.id):
        raise ProtocolError("invalid_value", f"Item with id '{item.id}' already exists.", "item.id")
    previous = session.conversation.insert(item, event.get("previous_item_id"))
    for name, fields in session.dialect.item_events(item, previous):
        await session.emit(name, **fields)


def _audio_end_ms(event: dict[str, Any]) -> int:
    end_ms = event.get("audio_end_ms")
    if end_ms is None:
        raise missing_parameter("audio_end_ms")
    if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
        raise invalid_type("audio_end_ms", "a non-negative integer", end_ms)
    return end_ms


async def truncate_item(session: RealtimeSession, event: dict[str, Any]) -> None:
    """conversation.item.truncate: only assistant audio, never past its end."""
    item = find_item(session, event.get("item_id"), "truncate")
    index, end_ms = event.get("content_index", 0), _audio_end_ms(event)
    part = item.parts[index] if isinstance(index, int) and 0 <= index < len(item.parts) else None
    if item.role != "assistant" or part is None or not part.is_audio or part.audio_ms <= 0:
        raise ProtocolError("unsupported_content_type", "Only model output audio messages can be truncated")
    if end_ms > part.audio_ms:
        message = f"Audio content of {part.audio_ms}ms is already shorter than {end_ms}ms"
        raise ProtocolError("invalid_value", message, "audio_end_ms")
    # Truncation drops the server-side transcript rather than trimming it (§4.6).
    part.audio_ms, part.transcript, item.truncated = end_ms, "", True
    await session.emit(
        "conversation.item.truncated", item_id=item.id, content_index=index, audio_end_ms=end_ms
    )


async def delete_item(session: RealtimeSession, event: dict[str, Any]) -> None:
    """conversation.item.delete."""
    item = find_item(session, event.get("item_id"), "delete")
    session.conversation.remove(item)
    await session.emit("conversation.item.deleted", item_id=item.id)


async def retrieve_item(session: RealtimeSession, event: dict[str, Any]) -> None:
    """conversation.item.retrieve."""
    item = find_item(session, event.get("item_id"), "retrieve")
    await session.emit("conversation.item.retrieved", item=session.dialect.render_item(item))
