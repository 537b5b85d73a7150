"""Asynchronous input transcription of a committed user audio item (§3)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from .answers import pieces, user_transcript
from .config import SimulatorConfig
from .conversation import Item
from .dialect import Dialect
from .ids import IdFactory
from .usage import transcription_usage


class TranscriptionHost(Protocol):
    """What transcription needs from its session."""

    dialect: Dialect
    ids: IdFactory
    config: SimulatorConfig

    async def emit(self, event_type: str, **fields: Any) -> None:
        """Send one server event."""


async def transcribe(host: TranscriptionHost, item: Item, *, fail: bool) -> None:
    """After the configured delay, stream the transcript (or fail) for `item`."""
    await asyncio.sleep(host.config.transcription_delay_ms / 1000)
    ids = {"item_id": item.id, "content_index": 0}
    if fail:
        error = {
            "type": "transcription_error",
            "code": "audio_unintelligible",
            "message": "The audio could not be transcribed.",
            "param": None,
        }
        await host.emit("conversation.item.input_audio_transcription.failed", **ids, error=error)
        return
    text = user_transcript(item)
    for piece in pieces(text):
        extra = {"obfuscation": host.ids.obfuscation()} if host.dialect.is_ga else {}
        await host.emit("conversation.item.input_audio_transcription.delta", **ids, delta=piece, **extra)
    item.parts[0].transcript = text
    usage = (
        {"usage": transcription_usage(item.parts[0].audio_ms, text)}
        if host.dialect.transcription_usage
        else {}
    )
    await host.emit("conversation.item.input_audio_transcription.completed", **ids, transcript=text, **usage)
