"""Energy-based voice activity detection on PCM16, standing in for server_vad and its relatives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

WINDOW_MS = 20
MIN_SPEECH_MS = 40  # two voiced windows, so a single click does not open a turn
# semantic_vad has no silence setting; eagerness decides how long it waits (§2, §7).
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


def threshold_dbfs(threshold: float) -> float:
    """Map upstream's 0..1 threshold onto a level: 0.5 is -35 dBFS, 1.0 is -10 dBFS."""
    return -60.0 + 50.0 * threshold


def window_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS level in dBFS of each whole 20 ms window."""
    size = rate * WINDOW_MS // 1000
    count = len(samples) // size
    frames = samples[: count * size].astype(np.float64).reshape(count, size) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1)) if count else np.zeros(0)
    return 20.0 * np.log10(np.maximum(rms, 1e-9))


def voiced_span_ms(pcm: bytes, rate: int, threshold: float = 0.5) -> int:
    """Milliseconds from the first to the end of the last voiced window; 0 for silence."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    voiced = np.flatnonzero(window_levels(samples, rate) >= threshold_dbfs(threshold))
    if not len(voiced):
        return 0
    return int(voiced[-1] - voiced[0] + 1) * WINDOW_MS


@dataclass(frozen=True)
class VadEvent:
    """Speech began (at_ms = audio_start_ms) or ended (at_ms = audio_end_ms)."""

    kind: Literal["started", "stopped"]
    at_ms: int
    speech_ms: int = 0


class EnergyVad:
    """Incremental detector fed with the stream of appended audio."""

    def __init__(
        self,
        rate: int,
        *,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        min_speech_ms: int = MIN_SPEECH_MS,
        clock_ms: int = 0,
    ) -> None:
        """Configure levels and timings; `clock_ms` is the stream position of the next sample."""
        self.rate = rate
        self.level = threshold_dbfs(threshold)
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.min_speech_ms = max(WINDOW_MS, min_speech_ms)
        self._pending = np.zeros(0, dtype=np.int16)
        self._clock_ms = clock_ms
        self.reset()

    @classmethod
    def from_turn_detection(cls, config: dict[str, Any], rate: int, clock_ms: int = 0) -> EnergyVad:
        """Build from a session's turn_detection object of any supported type."""
        silence = config.get("silence_duration_ms")
        if silence is None:
            silence = SEMANTIC_SILENCE_MS.get(config.get("eagerness", "auto"), 500)
        return cls(
            rate,
            threshold=config.get("threshold", 0.5),
            prefix_padding_ms=config.get("prefix_padding_ms", 300),
            silence_duration_ms=silence,
            min_speech_ms=config.get("speech_duration_ms") or MIN_SPEECH_MS,
            clock_ms=clock_ms,
        )

    @property
    def in_speech(self) -> bool:
        """True between a started and a stopped event."""
        return self._onset_ms is not None

    def reset(self) -> None:
        """Forget any speech in progress (after a manual commit or clear)."""
        self._onset_ms: int | None = None
        self._run_start_ms = 0
        self._run_ms = 0
        self._last_voiced_end_ms = 0
        self._silence_ms = 0

    def feed(self, samples: np.ndarray, floor_ms: int) -> list[VadEvent]:
        """Consume new samples; `floor_ms` is the earliest position a turn may start (buffer start)."""
        size = self.rate * WINDOW_MS // 1000
        data = np.concatenate([self._pending, samples])
        whole = len(data) // size * size
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for level in window_levels(data[:whole], self.rate):
            start_ms, self._clock_ms = self._clock_ms, self._clock_ms + WINDOW_MS
            event = self._step(level >= self.level, start_ms, floor_ms)
            if event is not None:
                events.append(event)
        return events

    def _step(self, voiced: bool, start_ms: int, floor_ms: int) -> VadEvent | None:
        end_ms = start_ms + WINDOW_MS
        if self._onset_ms is None:
            if not voiced:
                self._run_ms = 0
                return None
            if not self._run_ms:
                self._run_start_ms = start_ms
            self._run_ms += WINDOW_MS
            if self._run_ms < self.min_speech_ms:
                return None
            self._onset_ms, self._last_voiced_end_ms, self._silence_ms = self._run_start_ms, end_ms, 0
            # audio_start_ms includes the prefix padding (§4, [SDK-GA] docstring).
            return VadEvent("started", max(floor_ms, self._onset_ms - self.prefix_padding_ms))
        if voiced:
            self._last_voiced_end_ms, self._silence_ms = end_ms, 0
            return None
        self._silence_ms += WINDOW_MS
        if self._silence_ms < self.silence_duration_ms:
            return None
        # audio_end_ms includes the silence that confirmed the end of the turn.
        event = VadEvent("stopped", end_ms, self._last_voiced_end_ms - self._onset_ms)
        self.reset()
        return event
