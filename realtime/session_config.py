"""The upstream session the server builds for a user, in neutral form, before a dialect renders it.

The browser has no say in it: it comes from the user's stored settings and the server's defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from conversations.models import SessionSettings, TurnDetection

# The user's own instructions extend the server's; they never replace them.
USER_INSTRUCTIONS_HEADING = "\n\n## The user's own instructions\n\n"


@dataclass(frozen=True)
class TurnDetectionConfig:
    """Voice activity detection as the server wants it; None fields take the upstream default."""

    type: str
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    eagerness: str | None = None
    create_response: bool = True
    interrupt_response: bool = True


@dataclass(frozen=True)
class SessionConfig:
    """Everything a dialect needs to render a `session.update`."""

    instructions: str
    voice: str | dict[str, Any]
    turn_detection: TurnDetectionConfig | None
    transcription_model: str
    transcription_language: str = ""
    max_output_tokens: int | None = None
    noise_reduction: str = ""
    echo_cancellation: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe copy stored with the conversation ("the settings it ran with")."""
        return asdict(self)


def server_instructions() -> str:
    """The server's default instructions from the markdown file named in settings."""
    path = Path(settings.REALTIME_INSTRUCTIONS_FILE)
    return path.read_text(encoding="utf-8").strip()


def build_session_config(
    user_settings: SessionSettings, *, default_voice: str, default_transcription_model: str
) -> SessionConfig:
    """Combine a user's stored settings with the server's defaults."""
    instructions = server_instructions()
    if user_settings.instructions.strip():
        instructions += USER_INSTRUCTIONS_HEADING + user_settings.instructions.strip()
    options = user_settings.provider_options or {}
    voice: str | dict[str, Any] = user_settings.voice or default_voice
    return SessionConfig(
        instructions=instructions,
        voice=voice,
        turn_detection=_turn_detection(user_settings),
        # Transcription is always on, so that every user turn has text.
        transcription_model=user_settings.transcription_model or default_transcription_model,
        transcription_language=user_settings.transcription_language,
        max_output_tokens=user_settings.max_output_tokens,
        noise_reduction=str(options.get("noise_reduction", "")),
        echo_cancellation=bool(options.get("echo_cancellation", False)),
    )


def _turn_detection(user_settings: SessionSettings) -> TurnDetectionConfig | None:
    kind = user_settings.turn_detection
    if kind == TurnDetection.NONE:
        return None
    semantic = kind == TurnDetection.SEMANTIC_VAD
    return TurnDetectionConfig(
        type=kind,
        threshold=None if semantic else user_settings.vad_threshold,
        prefix_padding_ms=None if semantic else user_settings.vad_prefix_padding_ms,
        silence_duration_ms=None if semantic else user_settings.vad_silence_duration_ms,
        eagerness=user_settings.vad_eagerness if semantic else None,
    )
