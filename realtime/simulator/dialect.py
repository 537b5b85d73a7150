"""What differs between GA and the beta-style dialects: event names, item shapes, extra events (§3, §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .conversation import Item
from .schema_beta import PreviewSchema
from .schema_ga import GaSchema
from .schema_voice_live import VoiceLiveSchema

GA_CLIENT_EVENTS = (
    # Upstream's own list, in its order, from its unknown-type error (2026-09 probe).
    "session.update",
    "session.close",
    "input_audio_buffer.append",
    "session.input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
)
BETA_CLIENT_EVENTS = tuple(
    name for name in GA_CLIENT_EVENTS if name not in ("session.close", "session.input_audio_buffer.append")
)
_GA_OUTPUT = {"audio": "response.output_audio", "transcript": "response.output_audio_transcript"}
_BETA_OUTPUT = {"audio": "response.audio", "transcript": "response.audio_transcript"}


@dataclass(frozen=True)
class Dialect:
    """One wire dialect: "ga", "preview" (Azure legacy) or "voice-live"."""

    name: str
    schema: GaSchema | PreviewSchema

    @classmethod
    def ga(cls) -> Dialect:
        """OpenAI GA and Azure /openai/v1."""
        return cls("ga", GaSchema())

    @classmethod
    def preview(cls) -> Dialect:
        """Azure's legacy preview route."""
        return cls("preview", PreviewSchema())

    @classmethod
    def voice_live(cls, api_version: str) -> Dialect:
        """Azure Voice Live."""
        return cls("voice-live", VoiceLiveSchema(api_version))

    @property
    def is_ga(self) -> bool:
        """GA names and item lifecycle."""
        return self.name == "ga"

    @property
    def sends_rate_limits(self) -> bool:
        """Voice Live and the beta shapes here do not send rate_limits.updated (§5)."""
        return self.is_ga

    @property
    def transcription_usage(self) -> bool:
        """Voice Live's transcription.completed has no usage (§5)."""
        return self.name != "voice-live"

    @property
    def locks_voice(self) -> bool:
        """OpenAI models refuse a voice change once they have spoken (§2)."""
        return self.name != "voice-live"

    @property
    def client_events(self) -> tuple[str, ...]:
        """Event types this dialect accepts from clients."""
        return GA_CLIENT_EVENTS if self.is_ga else BETA_CLIENT_EVENTS

    def output_event(self, kind: str, phase: str) -> str:
        """Name of an output event, e.g. ("audio", "delta") -> response.output_audio.delta."""
        if kind == "text":
            return f"response.{'output_text' if self.is_ga else 'text'}.{phase}"
        return f"{(_GA_OUTPUT if self.is_ga else _BETA_OUTPUT)[kind]}.{phase}"

    def assistant_part_type(self, *, audio: bool) -> str:
        """Wire type of assistant content inside items."""
        if self.is_ga:
            return "output_audio" if audio else "output_text"
        return "audio" if audio else "text"

    def render_item(self, item: Item) -> dict[str, Any]:
        """An item as this dialect shows it."""
        return item.render(beta=not self.is_ga)

    def item_events(self, item: Item, previous_item_id: str | None) -> list[tuple[str, dict[str, Any]]]:
        """Events announcing a new item: GA added + done, beta created (§3)."""
        fields = {"previous_item_id": previous_item_id, "item": self.render_item(item)}
        if self.is_ga:
            return [("conversation.item.added", fields), ("conversation.item.done", fields)]
        return [("conversation.item.created", fields)]
