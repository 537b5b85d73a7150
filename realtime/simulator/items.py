"""Reading items that clients create (conversation.item.create, response.create input)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .conversation import Item, Part
from .dialect import Dialect
from .errors import ProtocolError, invalid_value, missing_parameter
from .ids import IdFactory
from .vad import voiced_span_ms
from .validation import anything, array, enum, obj, require_object, string, tagged

_TEXT_PART = {"type": anything, "text": string()}
_AUDIO_PART = {"type": anything, "audio": string(), "transcript": string(nullable=True)}


def _part_types(dialect: Dialect, role: str) -> dict[str, Any]:
    """Content types each role may create ([SDK-GA]/[SDK-BETA] item content)."""
    if role == "user":
        return {
            "input_text": obj(_TEXT_PART, required=("text",)),
            "input_audio": obj(_AUDIO_PART),
        }
    if role == "system":
        return {"input_text": obj(_TEXT_PART, required=("text",))}
    return {dialect.assistant_part_type(audio=False): obj(_TEXT_PART, required=("text",))}


def decode_audio(data: str, path: str) -> bytes:
    """Decode base64 audio or raise the upstream-style error."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ProtocolError(
            "invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.", path
        ) from error


def _part(entry: dict[str, Any], path: str, rate: int) -> tuple[Part, bytes]:
    kind = entry["type"]
    if kind != "input_audio":
        return Part(kind, text=entry["text"]), b""
    pcm = decode_audio(entry.get("audio", ""), f"{path}.audio")
    return Part(kind, transcript=entry.get("transcript"), audio_ms=len(pcm) // 2 * 1000 // rate), pcm


def parse_item(data: Any, *, dialect: Dialect, ids: IdFactory, rate: int, path: str = "item") -> Item:
    """Validate a client item and turn it into an Item; only message items are simulated."""
    data = require_object(data, path)
    obj(
        {
            "id": string(),
            "type": anything,
            "object": enum("realtime.item"),
            "status": enum("completed", "incomplete", "in_progress"),
            "role": anything,
            "content": anything,
        },
        required=("type",),
    )(data, path)
    if data["type"] != "message":
        raise ProtocolError("invalid_value", "The simulator supports only 'message' items.", f"{path}.type")
    role = data.get("role")
    if role not in ("user", "assistant", "system"):
        raise invalid_value(f"{path}.role", role, ("user", "assistant", "system"))
    if "content" not in data:
        raise missing_parameter(f"{path}.content")
    array(tagged(_part_types(dialect, role)))(data["content"], f"{path}.content")
    item = Item(id=data.get("id") or ids.new("item"), role=role, status=data.get("status", "completed"))
    for index, entry in enumerate(data["content"]):
        part, pcm = _part(entry, f"{path}.content[{index}]", rate)
        item.parts.append(part)
        if pcm:
            item.speech_ms += voiced_span_ms(pcm, rate)
        if part.is_audio and part.transcript:
            item.heard = part.transcript
    return item
