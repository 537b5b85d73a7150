"""Writes to one conversation, applied together: turns in order, usage exactly once, in a few queries.

A `ConversationWrites` locks the conversation row once, reads the turns and usage reports the
writes refer to, applies every write in memory in the order given, then stores the result with one
INSERT per table and one UPDATE of the conversation's totals. The recorder hands it all the writes
that queued up for a session, so a busy worker writes a whole turn in the queries one write would
take; `conversations.services` applies single writes through it too, so the rules live here once.

Use it inside a transaction; `save()` must be called for anything to be stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Max

from conversations.models import TOKEN_FIELDS, Conversation, Message, Usage
from conversations.transcripts import heard_text, title_from_text
from conversations.usage import token_counts, usage_cost

ConversationId = uuid.UUID | str
COST_QUANTUM = Decimal("1e-10")
UPSTREAM_ID_MAX = 120
# What the lock reads of the conversation: its title and what usage adds to.
TOTAL_FIELDS = (*TOKEN_FIELDS, "cost", "unpriced_usage_count")
LOCKED_FIELDS = ("title", "model", *TOTAL_FIELDS)
COMPLETE_FIELDS = [
    "text",
    "audio_duration_ms",
    "status",
    "heard_text",
    "error_code",
    "played_ms",
    "updated_at",
]


class ConversationWrites:
    """The writes of one transaction to one conversation, applied in memory and stored by `save()`."""

    def __init__(
        self,
        conversation_id: ConversationId,
        *,
        item_ids: Iterable[str] = (),
        upstream_ids: Iterable[str] = (),
    ) -> None:
        """Lock the conversation and read the turns and usage reports these writes will touch.

        Raises Conversation.DoesNotExist when the conversation is gone. Items or reports not named
        here are read when a write first needs them.
        """
        self.conversation_id = conversation_id
        values = (
            Conversation.objects.select_for_update().filter(pk=conversation_id).values(*LOCKED_FIELDS).first()
        )
        if values is None:
            raise Conversation.DoesNotExist(f"No conversation {conversation_id}")
        self._conversation = values
        self._totals_changed = False
        self._title_changed = False
        self._messages: dict[str, Message | None] = {}
        self._new: list[Message] = []
        self._changed: dict[int, Message] = {}
        self._next_position: int | None = None
        self._usage_ids: set[str] = set()
        self._usages: list[Usage] = []
        self._load_messages(set(item_ids))
        wanted = {u[:UPSTREAM_ID_MAX] for u in upstream_ids}
        if wanted:
            self._usage_ids |= set(
                Usage.objects.filter(conversation_id=conversation_id, upstream_id__in=wanted).values_list(
                    "upstream_id", flat=True
                )
            )
        self._usage_checked = wanted

    # --- Turns ------------------------------------------------------------------------------------

    def message_add(
        self,
        *,
        item_id: str,
        role: str,
        kind: str,
        text: str = "",
        status: str = Message.Status.IN_PROGRESS,
        response_id: str = "",
    ) -> Message:
        """Append a turn at the end of the conversation, or return it if its item is already stored."""
        existing = self._message(item_id)
        if existing is not None:
            return existing
        message = Message(
            conversation_id=self.conversation_id,
            position=self._take_position(),
            item_id=item_id,
            role=role,
            kind=kind,
            text=text,
            status=status,
            response_id=response_id,
        )
        self._messages[item_id] = message
        self._new.append(message)
        if text and role == Message.Role.USER:
            self._title_from(text)
        return message

    def message_complete(
        self,
        *,
        item_id: str,
        role: str,
        text: str,
        kind: str = Message.Kind.AUDIO,
        audio_duration_ms: int | None = None,
    ) -> Message:
        """Store a turn's final text; a turn not stored yet is appended first.

        An interrupted answer keeps its interrupted status and gets its heard part recomputed.
        """
        message = self.message_add(item_id=item_id, role=role, kind=kind)
        message.text = text
        if audio_duration_ms is not None:
            message.audio_duration_ms = audio_duration_ms
        if message.status == Message.Status.INTERRUPTED:
            message.heard_text = heard_text(text, message.played_ms or 0, message.audio_duration_ms)
        else:
            message.status = Message.Status.COMPLETED
        self._touch(message)
        if role == Message.Role.USER and text:
            self._title_from(text)
        return message

    def message_transcription_failed(self, *, item_id: str, error_code: str = "") -> Message:
        """Mark a user audio turn whose transcription failed, so the gap is visible in history."""
        message = self.message_add(item_id=item_id, role=Message.Role.USER, kind=Message.Kind.AUDIO)
        message.status = Message.Status.TRANSCRIPTION_FAILED
        message.error_code = error_code[:100]
        self._touch(message)
        return message

    def message_interrupt(
        self, *, item_id: str, played_ms: int, audio_duration_ms: int | None = None
    ) -> Message | None:
        """Mark an assistant turn the user cut off after `played_ms`, keeping the part heard.

        Returns None when no such assistant turn is stored (an interrupt for an unknown item).
        """
        message = self._message(item_id)
        if message is None or message.role != Message.Role.ASSISTANT:
            return None
        if audio_duration_ms is not None:
            message.audio_duration_ms = audio_duration_ms
        if message.audio_duration_ms is not None:
            played_ms = min(played_ms, message.audio_duration_ms)
        message.played_ms = max(played_ms, 0)
        message.status = Message.Status.INTERRUPTED
        message.heard_text = heard_text(message.text, message.played_ms, message.audio_duration_ms)
        self._touch(message)
        return message

    # --- Usage ------------------------------------------------------------------------------------

    def usage_record(
        self, *, upstream_id: str, kind: str, usage: dict[str, Any], status: str = "", model: str = ""
    ) -> Usage | None:
        """Add one upstream usage report and its tokens and cost to the totals, exactly once.

        Returns None when a report with this upstream id was already stored (a replayed event).
        `usage` is the upstream payload: token details, or `{"type": "duration", "seconds": N}`.
        """
        upstream_id = upstream_id[:UPSTREAM_ID_MAX]
        if upstream_id not in self._usage_checked:
            self._usage_checked.add(upstream_id)
            if Usage.objects.filter(conversation_id=self.conversation_id, upstream_id=upstream_id).exists():
                self._usage_ids.add(upstream_id)
        if upstream_id in self._usage_ids:
            return None
        tokens = token_counts(usage)
        seconds = usage.get("seconds") if usage.get("type") == "duration" else None
        model = model or self._conversation["model"]
        cost = usage_cost(model, tokens)
        if cost is not None:
            cost = cost.quantize(COST_QUANTUM)
        record = Usage(
            conversation_id=self.conversation_id,
            upstream_id=upstream_id,
            kind=kind,
            status=status[:20],
            model=model[:100],
            duration_seconds=Decimal(str(seconds)) if isinstance(seconds, int | float) else None,
            cost=cost,
            **tokens.as_dict(),
        )
        self._usage_ids.add(upstream_id)
        self._usages.append(record)
        # The row is locked, so totals are summed here in Python: exact Decimal arithmetic even
        # on SQLite, whose SQL arithmetic on decimals is floating point.
        for name in TOKEN_FIELDS:
            self._conversation[name] += getattr(tokens, name)
        if cost is None:
            self._conversation["unpriced_usage_count"] += 1
        else:
            self._conversation["cost"] += cost
        self._totals_changed = True
        return record

    # --- Storing ----------------------------------------------------------------------------------

    def save(self) -> None:
        """Store everything applied: new rows in one INSERT per table, changed turns, the totals."""
        if self._new:
            _insert(Message, self._new)
        for message in self._changed.values():
            message.save(update_fields=COMPLETE_FIELDS)
        if self._usages:
            _insert(Usage, self._usages)
        changes: dict[str, Any] = {}
        if self._totals_changed:
            changes.update({name: self._conversation[name] for name in TOTAL_FIELDS})
        if self._title_changed:
            changes["title"] = self._conversation["title"]
        if changes:
            Conversation.objects.filter(pk=self.conversation_id).update(**changes)
        self._new, self._changed, self._usages = [], {}, []
        self._totals_changed = self._title_changed = False

    # --- Internals --------------------------------------------------------------------------------

    def _load_messages(self, item_ids: set[str]) -> None:
        item_ids -= self._messages.keys()
        if not item_ids:
            return
        for message in Message.objects.filter(conversation_id=self.conversation_id, item_id__in=item_ids):
            self._messages[message.item_id] = message
        for item_id in item_ids:
            self._messages.setdefault(item_id, None)

    def _message(self, item_id: str) -> Message | None:
        if item_id not in self._messages:
            self._load_messages({item_id})
        return self._messages[item_id]

    def _take_position(self) -> int:
        if self._next_position is None:
            last = Message.objects.filter(conversation_id=self.conversation_id).aggregate(
                last=Max("position")
            )
            self._next_position = (last["last"] or 0) + 1
        position = self._next_position
        self._next_position += 1
        return position

    def _touch(self, message: Message) -> None:
        """Remember a stored turn as changed; a new one is inserted as it is by then."""
        if message.pk is not None:
            self._changed[message.pk] = message

    def _title_from(self, text: str) -> None:
        """Title an untitled conversation after the text of its first user turn."""
        if self._conversation["title"]:
            return
        title = title_from_text(text)
        if title:
            self._conversation["title"] = title
            self._title_changed = True


def _insert(model: type[Message] | type[Usage], rows: list[Any]) -> None:
    """One INSERT for all rows, with their primary keys set where the database returns them."""
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows)
    else:
        for row in rows:
            row.save(force_insert=True)
