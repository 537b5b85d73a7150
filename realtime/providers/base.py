"""The small interface every upstream provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from conversations.models import SessionSettings
from realtime.dialects import Dialect
from realtime.session_config import SessionConfig, build_session_config

OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")


@dataclass(frozen=True)
class UpstreamTarget:
    """Where and how to connect. Headers carry the credentials and are never shown."""

    url: str
    headers: dict[str, str] = field(repr=False)

    def __repr__(self) -> str:
        return f"UpstreamTarget({self.safe_url!r})"

    @property
    def safe_url(self) -> str:
        """The URL without its query, fit for logs and error messages."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


_WS_SCHEMES = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}


def with_query(base: str, path: str, params: dict[str, str]) -> str:
    """`base` (scheme and host, maybe a path prefix) plus `path` and an encoded query.

    http(s) endpoints map to ws(s), so an endpoint may be given either way.
    """
    parts = urlsplit(base)
    full_path = parts.path.rstrip("/") + path if path else parts.path
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    scheme = _WS_SCHEMES.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, full_path, query, ""))


class Provider:
    """One upstream realtime service: how to reach it and which session it accepts."""

    name: ClassVar[str]
    dialect: Dialect
    voices: ClassVar[tuple[str, ...]] = OPENAI_VOICES
    default_voice: ClassVar[str] = "marin"
    default_transcription_model: ClassVar[str] = "gpt-4o-mini-transcribe"
    # What a user may choose in their settings for this provider (validated in settings_rules.py).
    turn_detection_types: ClassVar[tuple[str, ...]] = ("server_vad", "semantic_vad", "none")
    transcription_models: ClassVar[tuple[str, ...]] = (
        "gpt-4o-mini-transcribe",
        "gpt-4o-transcribe",
        "whisper-1",
    )
    noise_reductions: ClassVar[tuple[str, ...]] = ("near_field", "far_field")
    option_names: ClassVar[tuple[str, ...]] = ("noise_reduction",)
    max_output_tokens: ClassVar[int] = 4096
    # What user audio may wait upstream; the history replayed on resume must leave room for it.
    context_tokens: ClassVar[int] = 32_768

    def __init__(self, *, model: str) -> None:
        self.model = model

    async def target(self) -> UpstreamTarget:
        """The URL and credential headers of a new upstream connection."""
        raise NotImplementedError

    def session_config(self, user_settings: SessionSettings) -> SessionConfig:
        """The session this provider gets for a user's settings."""
        return build_session_config(
            user_settings,
            default_voice=self.default_voice,
            default_transcription_model=self.default_transcription_model,
        )

    def accepts_voice(self, voice: str) -> bool:
        """Whether a user may choose this voice."""
        return voice in self.voices

    def describe(self) -> dict[str, Any]:
        """What the browser may know of the provider: never a URL or key."""
        return {"provider": self.name, "model": self.model}
