"""The input audio buffer and the stream clock that VAD times refer to (§2, §4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .vad import EnergyVad, VadEvent

MAX_APPEND_BYTES = 15 * 1024 * 1024  # per input_audio_buffer.append event (§7)
MIN_COMMIT_MS = 100


class InputAudio:
    """Audio appended since the last commit or clear, positioned on the session's audio stream."""

    def __init__(self, rate: int, turn_detection: dict[str, Any] | None) -> None:
        """Start an empty buffer at stream position 0."""
        self.rate = rate
        self.buffer = bytearray()
        self.buffer_start = 0  # stream position of the buffer's first sample
        self.vad: EnergyVad | None = None
        self._turn_detection: dict[str, Any] | None = None
        self.configure(rate, turn_detection)

    def to_ms(self, samples: int) -> int:
        """Samples to whole milliseconds at the input rate."""
        return samples * 1000 // self.rate

    def to_samples(self, ms: int) -> int:
        """Milliseconds to samples at the input rate."""
        return ms * self.rate // 1000

    @property
    def position(self) -> int:
        """Samples appended during the whole session."""
        return self.buffer_start + len(self.buffer) // 2

    @property
    def buffered_ms(self) -> float:
        """Duration of the uncommitted buffer, with the precision upstream prints."""
        return len(self.buffer) // 2 * 1000 / self.rate

    def configure(self, rate: int, turn_detection: dict[str, Any] | None) -> None:
        """Apply new session settings; a changed VAD starts fresh at the current position."""
        if rate == self.rate and turn_detection == self._turn_detection and self.vad is not None:
            return
        self.rate, self._turn_detection = rate, turn_detection
        clock = self.to_ms(self.position)
        self.vad = EnergyVad.from_turn_detection(turn_detection, rate, clock) if turn_detection else None

    def append(self, pcm: bytes) -> list[VadEvent]:
        """Add audio; return what VAD noticed in it."""
        whole_before = len(self.buffer) // 2
        self.buffer.extend(pcm)
        if self.vad is None:
            return []
        new = np.frombuffer(bytes(self.buffer[whole_before * 2 : len(self.buffer) // 2 * 2]), dtype="<i2")
        return self.vad.feed(new, self.to_ms(self.buffer_start))

    def take(self, start_ms: int | None = None, end_ms: int | None = None) -> bytes:
        """Remove and return audio up to `end_ms` (default: all), dropping what precedes `start_ms`."""
        end = len(self.buffer) // 2 if end_ms is None else self.to_samples(end_ms) - self.buffer_start
        start = 0 if start_ms is None else max(0, self.to_samples(start_ms) - self.buffer_start)
        end = max(start, min(end, len(self.buffer) // 2))
        taken = bytes(self.buffer[start * 2 : end * 2])
        del self.buffer[: end * 2]
        self.buffer_start += end
        if end_ms is None and self.vad is not None:
            self.vad.reset()
        return taken

    def clear(self) -> None:
        """Drop the buffer; the stream clock keeps running."""
        self.buffer_start = self.position
        self.buffer.clear()
        if self.vad is not None:
            self.vad.reset()
