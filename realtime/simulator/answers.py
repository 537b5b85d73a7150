"""What the simulated model hears and says: deterministic text derived from the conversation."""

from __future__ import annotations

import re

from .conversation import Item

GREETING = "Hello! How can I help you today?"
_PIECES = re.compile(r"\s*\S+")


def describe_speech(speech_ms: int) -> str:
    """An honest stand-in transcript: the simulator cannot recognise words."""
    if speech_ms <= 0:
        return "(no speech detected)"
    return f"({speech_ms / 1000:.1f} seconds of speech)"


def user_transcript(item: Item) -> str:
    """Transcript of a user audio item: the configured text, else the description."""
    return item.heard if item.heard is not None else describe_speech(item.speech_ms)


def _you_said(text: str) -> str:
    text = text.strip()
    if not text:
        return "You sent an empty message."
    return f"You said: {text}" + ("" if text[-1] in ".!?" else ".")


def reply_to(item: Item) -> str:
    """The assistant's answer to one user item."""
    for part in item.parts:
        if not part.is_audio and part.text is not None:
            return _you_said(part.text)
    if item.heard is not None:
        return _you_said(item.heard)
    if item.speech_ms <= 0:
        return "I heard only silence."
    return f"I heard you speak for {item.speech_ms / 1000:.1f} seconds."


def compose_answer(context: list[Item]) -> str:
    """Answer the newest user item of the context, or greet when there is none."""
    for item in reversed(context):
        if item.role == "user":
            return reply_to(item)
    return GREETING


def pieces(text: str) -> list[str]:
    """Split text into word deltas with their leading spaces, as upstream streams them."""
    return _PIECES.findall(text)
