"""The browser side of `/ws/voice/`: its limits, and parsing of what a browser may send.

Only the message types of docs/protocol.md pass (an allow-list); a browser can never send an
upstream event. Everything that fails here becomes an error event for the browser, and the
session goes on.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from dataclasses import dataclass
from typing import Any

import orjson

PCM_BYTES_PER_MS = 48  # 24 kHz, 16-bit, mono
# One audio frame: browsers send 20 to 100 ms; two seconds leaves room without inviting abuse.
MAX_AUDIO_FRAME_BYTES = 2_000 * PCM_BYTES_PER_MS
# A JSON frame: base64 audio of the largest frame plus its envelope.
MAX_TEXT_FRAME_CHARS = 160_000
MAX_TEXT_TURN_CHARS = 4_000
MAX_ITEM_ID_CHARS = 100
MAX_PLAYED_MS = 3_600_000
CLIENT_TYPES = ("audio", "text", "interrupt", "ping", "stop")


@dataclass(frozen=True, slots=True)
class Audio:
    pcm: bytes


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Interrupt:
    item_id: str
    played_ms: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Refused:
    """A browser message that is not accepted, with a code and a message safe to show."""

    code: str
    message: str

    def event(self) -> dict[str, str]:
        return {"type": "error", "code": self.code, "message": self.message}


Command = Audio | Text | Interrupt | Ping | Stop | Refused


def parse_binary(data: bytes) -> Audio | Refused:
    """A binary frame is raw PCM16 audio."""
    return _audio(data)


def parse_text(data: str) -> Command:
    """A text frame is one JSON message of an accepted type."""
    if len(data) > MAX_TEXT_FRAME_CHARS:
        return Refused("frame_too_large", f"Messages are limited to {MAX_TEXT_FRAME_CHARS} characters.")
    try:
        # orjson also refuses what could not be stored or sent on: unpaired surrogates, NaN, Infinity.
        message = orjson.loads(data)
    except ValueError:
        return Refused("invalid_json", "The message is not valid JSON.")
    if not isinstance(message, dict):
        return Refused("invalid_message", "A message must be a JSON object with a type.")
    kind = message.get("type")
    if kind not in CLIENT_TYPES:
        return Refused("unknown_type", f"Accepted message types are: {', '.join(CLIENT_TYPES)}.")
    return _PARSERS[kind](message)


def _audio(pcm: bytes) -> Audio | Refused:
    if not pcm:
        return Refused("bad_audio", "An audio frame is empty.")
    if len(pcm) > MAX_AUDIO_FRAME_BYTES:
        return Refused("bad_audio", f"An audio frame may hold at most {MAX_AUDIO_FRAME_BYTES} bytes (2 s).")
    if len(pcm) % 2:
        return Refused("bad_audio", "Audio must be PCM16: an even number of bytes.")
    return Audio(pcm)


def _parse_audio(message: dict[str, Any]) -> Audio | Refused:
    encoded = message.get("audio")
    if not isinstance(encoded, str):
        return Refused("bad_audio", "An audio message needs base64 audio in 'audio'.")
    try:
        pcm = b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return Refused("bad_audio", "The audio is not valid base64.")
    return _audio(pcm)


def _parse_text(message: dict[str, Any]) -> Text | Refused:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return Refused("bad_text", "A text message needs non-empty text in 'text'.")
    if len(text) > MAX_TEXT_TURN_CHARS:
        return Refused("text_too_long", f"A typed turn may be at most {MAX_TEXT_TURN_CHARS} characters.")
    return Text(text.strip())


def _parse_interrupt(message: dict[str, Any]) -> Interrupt | Refused:
    item_id, played_ms = message.get("item_id"), message.get("played_ms")
    if not isinstance(item_id, str) or not 0 < len(item_id) <= MAX_ITEM_ID_CHARS:
        return Refused("bad_interrupt", "An interrupt needs the assistant's 'item_id'.")
    if isinstance(played_ms, bool) or not isinstance(played_ms, int | float):
        return Refused("bad_interrupt", "An interrupt needs 'played_ms', a number of milliseconds.")
    if not 0 <= played_ms <= MAX_PLAYED_MS:
        return Refused("bad_interrupt", f"'played_ms' must be between 0 and {MAX_PLAYED_MS}.")
    return Interrupt(item_id, int(played_ms))


_PARSERS = {
    "audio": _parse_audio,
    "text": _parse_text,
    "interrupt": _parse_interrupt,
    "ping": lambda message: Ping(),
    "stop": lambda message: Stop(),
}
