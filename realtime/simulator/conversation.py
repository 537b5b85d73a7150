"""Conversation items as the simulator keeps them, and their wire rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError

AUDIO_PART_TYPES = ("input_audio", "output_audio", "audio")


@dataclass
class Part:
    """One content part; `type` is already the dialect's wire name."""

    type: str
    text: str | None = None
    transcript: str | None = None
    audio_ms: int = 0

    @property
    def is_audio(self) -> bool:
        """True for audio parts of any role or dialect."""
        return self.type in AUDIO_PART_TYPES

    def render(self) -> dict[str, Any]:
        """The part as upstream shows it (audio bytes are never echoed)."""
        if self.is_audio:
            return {"type": self.type, "transcript": self.transcript}
        return {"type": self.type, "text": self.text}


@dataclass
class Item:
    """A message in the conversation."""

    id: str
    role: str
    parts: list[Part] = field(default_factory=list)
    status: str = "completed"
    # What the simulated model "understood" of user audio: a configured transcript, or None.
    heard: str | None = None
    # Voiced span of user audio, measured by energy; drives the honest description.
    speech_ms: int = 0
    truncated: bool = False

    def render(self, *, beta: bool) -> dict[str, Any]:
        """The item object of conversation and response events."""
        rendered: dict[str, Any] = {"id": self.id}
        if beta:
            rendered["object"] = "realtime.item"
        rendered.update(
            type="message",
            status=self.status,
            role=self.role,
            content=[part.render() for part in self.parts],
        )
        return rendered


class Conversation:
    """The ordered items of one session."""

    def __init__(self) -> None:
        """Start empty."""
        self.items: list[Item] = []

    def find(self, item_id: Any) -> Item | None:
        """Return the item with this id, if any."""
        return next((item for item in self.items if item.id == item_id), None)

    def last_id(self) -> str | None:
        """Id of the newest item, the default `previous_item_id`."""
        return self.items[-1].id if self.items else None

    def previous_id(self, item: Item) -> str | None:
        """Id of the item just before `item`."""
        index = self.items.index(item)
        return self.items[index - 1].id if index else None

    def append(self, item: Item) -> str | None:
        """Add at the end; return the previous item's id."""
        previous = self.last_id()
        self.items.append(item)
        return previous

    def insert(self, item: Item, previous_item_id: Any) -> str | None:
        """Insert after `previous_item_id` ("root" = first, None = last); return the actual previous id."""
        if previous_item_id is None:
            return self.append(item)
        if previous_item_id == "root":
            self.items.insert(0, item)
            return None
        anchor = self.find(previous_item_id)
        if anchor is None:
            raise ProtocolError(
                "invalid_value",
                f"Previous item with id '{previous_item_id}' does not exist.",
                "previous_item_id",
            )
        self.items.insert(self.items.index(anchor) + 1, item)
        return anchor.id

    def remove(self, item: Item) -> None:
        """Delete an item."""
        self.items.remove(item)

    def has_assistant_audio(self) -> bool:
        """True once the assistant has produced audio, which freezes the voice (§2)."""
        return any(
            part.is_audio and part.audio_ms > 0
            for item in self.items
            if item.role == "assistant"
            for part in item.parts
        )
