"""Pure text helpers for transcripts: titles and the heard part of an interrupted answer."""

from __future__ import annotations

TITLE_MAX_CHARS = 80


def title_from_text(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """A one-line title from a user's first turn, cut at a word boundary with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def heard_text(text: str, played_ms: int, audio_ms: int | None) -> str:
    """The words of an assistant answer the user heard before interrupting playback.

    Speech is assumed to run at an even pace over the item's audio, so the heard share of the
    text is the played share of the audio. Only whole words count as heard: a word cut in half
    was not understood. Without a known audio length nothing can be claimed as heard.
    """
    if not text or not audio_ms or played_ms <= 0:
        return ""
    if played_ms >= audio_ms:
        return text
    cut = int(len(text) * played_ms / audio_ms)
    if cut >= len(text):
        return text
    if text[cut].isspace():
        return text[:cut].rstrip()
    words = text[:cut].rsplit(None, 1)
    return words[0].rstrip() if len(words) == 2 else ""
