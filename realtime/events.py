"""The relay's own vocabulary for what an upstream realtime service says.

Dialects (`realtime/dialects.py`) translate GA and beta wire events into these; the relay only
ever sees these types, so it holds no knowledge of event names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionCreated:
    session_id: str
    model: str


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    pass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    item_id: str
    audio_start_ms: int | None


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    item_id: str
    audio_end_ms: int | None


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """A conversation item appeared upstream, in conversation order."""

    item_id: str
    role: str
    kind: str  # "audio" or "text"
    text: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class UserTranscript:
    item_id: str
    text: str
    usage: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class UserTranscriptFailed:
    item_id: str
    code: str


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """Base64 PCM16 of an assistant item; decoded once, by the relay, on its way to the browser."""

    response_id: str
    item_id: str
    audio_b64: str


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    response_id: str
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    response_id: str
    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str
    status: str
    reason: str
    usage: dict[str, Any] | None
    item_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class UpstreamError:
    code: str
    message: str
    event_id: str | None
    param: str | None = None


RelayEvent = (
    SessionCreated
    | SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | ItemAdded
    | UserTranscript
    | UserTranscriptFailed
    | ResponseCreated
    | AudioDelta
    | TranscriptDelta
    | TranscriptDone
    | ResponseDone
    | ItemTruncated
    | UpstreamError
)
