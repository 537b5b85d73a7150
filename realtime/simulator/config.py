"""Settings and fault switches of the realtime simulator."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimulatorConfig:
    """What the simulator accepts and how it misbehaves; tests may change it between connections."""

    # None accepts any non-empty key, as a local development stand-in should.
    api_key: str | None = None
    # Seeds the per-connection random streams, so ids and obfuscation strings repeat run to run.
    seed: int = 0
    # How much faster than real time assistant audio is generated; 0 or math.inf means unpaced.
    realtime_factor: float = 4.0
    # Size of each response.output_audio.delta, in milliseconds of PCM.
    audio_chunk_ms: int = 100
    # Input transcription finishes this long after the commit, so it races the response (§3).
    transcription_delay_ms: int = 50
    # Transcripts for successive audio turns of a connection; empty means an honest description.
    user_transcripts: list[str] = field(default_factory=list)
    # False forces the generated tone voice even when espeak-ng is installed (reproducible audio).
    use_espeak: bool = True
    # Faults. All are read when a connection opens.
    refuse_auth: bool = False
    # OpenAI checks keys after the upgrade (101, then an error and close 3000); False answers HTTP 401.
    auth_error_after_upgrade: bool = False
    close_mid_response: bool = False
    error_after_session_created: dict[str, Any] | None = None
    slow_response_s: float = 0.0
    session_max_s: float | None = None
    fail_transcription: bool = False

    def snapshot(self) -> SimulatorConfig:
        """Return an independent copy, so a test flipping switches only affects later connections."""
        return copy.deepcopy(self)
