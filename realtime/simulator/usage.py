"""Token accounting by the published rules (§6): audio by duration, text by length, input re-sent."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .conversation import Item

CACHE_BLOCK = 64  # cached counts in real traffic are multiples of 64 ([SPEC], probes)


def text_tokens(text: str | None) -> int:
    """About four characters per token."""
    return math.ceil(len(text or "") / 4)


def user_audio_tokens(ms: int) -> int:
    """User audio: one token per 100 ms."""
    return ms // 100


def assistant_audio_tokens(ms: int) -> int:
    """Assistant audio: one token per 50 ms."""
    return ms // 50


@dataclass(frozen=True)
class Segment:
    """One piece of the input the model re-reads for every response."""

    key: str
    text: int
    audio: int


def item_segment(item: Item) -> Segment:
    """Tokens an item contributes to a response's input."""
    text = audio = 0
    for part in item.parts:
        if not part.is_audio:
            text += text_tokens(part.text)
        elif item.role == "assistant":
            # The model re-reads its own audio and, unless truncated away, its transcript.
            audio += assistant_audio_tokens(part.audio_ms)
            text += text_tokens(part.transcript)
        else:
            audio += user_audio_tokens(part.audio_ms)
    return Segment(f"{item.id}:{text}:{audio}", text, audio)


def instructions_segment(instructions: str) -> Segment:
    """The instructions lead every input."""
    return Segment(f"instructions:{instructions}", text_tokens(instructions), 0)


class UsageMeter:
    """Counts one session's tokens and remembers what the model has already read (prompt cache)."""

    def __init__(self) -> None:
        """Nothing is cached yet."""
        self._seen: set[str] = set()
        self.total_tokens = 0

    def remember(self, segment: Segment) -> None:
        """Mark a segment as read, e.g. an output item the model just produced."""
        self._seen.add(segment.key)

    def _cached(self, segments: list[Segment]) -> tuple[int, int]:
        # The cache covers the longest already-read prefix, in whole blocks. Instructions
        # count as read: upstream caches the common system prompt across sessions.
        prefix: list[Segment] = []
        for segment in segments:
            if segment.key not in self._seen and not segment.key.startswith("instructions:"):
                break
            prefix.append(segment)
        budget = sum(s.text + s.audio for s in prefix) // CACHE_BLOCK * CACHE_BLOCK
        text = audio = 0
        for segment in prefix:
            take_text = min(segment.text, budget - text - audio)
            text += take_text
            audio += min(segment.audio, budget - text - audio)
        return text, audio

    def response_usage(self, segments: list[Segment], out_text: int, out_audio: int) -> dict[str, Any]:
        """The `usage` object of response.done (§3, all fields)."""
        in_text = sum(s.text for s in segments)
        in_audio = sum(s.audio for s in segments)
        cached_text, cached_audio = self._cached(segments)
        for segment in segments:
            self.remember(segment)
        total = in_text + in_audio + out_text + out_audio
        self.total_tokens += total
        return {
            "total_tokens": total,
            "input_tokens": in_text + in_audio,
            "output_tokens": out_text + out_audio,
            "input_token_details": {
                "text_tokens": in_text,
                "audio_tokens": in_audio,
                "image_tokens": 0,
                "cached_tokens": cached_text + cached_audio,
                "cached_tokens_details": {
                    "text_tokens": cached_text,
                    "audio_tokens": cached_audio,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }


def transcription_usage(audio_ms: int, transcript: str) -> dict[str, Any]:
    """The `usage` of a GA transcription.completed event ({"type": "tokens"} form, §3)."""
    audio = user_audio_tokens(audio_ms)
    output = text_tokens(transcript)
    return {
        "type": "tokens",
        "total_tokens": audio + output,
        "input_tokens": audio,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
        "output_tokens": output,
    }
