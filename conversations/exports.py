"""CSV exports of conversations and their transcripts, safe to open in a spreadsheet.

Titles and transcripts are user text, so every text cell is neutralised against formula injection
(OWASP "CSV injection"): a cell that a spreadsheet would evaluate gets a leading apostrophe, which
makes it plain text. The functions here only turn objects into rows and rows into CSV; choosing and
fetching the objects (with `select_related("owner")` and a `message_count` annotation for
conversations) is the caller's job, so an export costs the same number of queries for any size.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Protocol

from conversations.models import TOKEN_FIELDS, Conversation, Message

Cell = str | int | float | Decimal | dt.datetime | None

# A spreadsheet treats a cell starting with one of these as a formula (tab and CR can precede one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

CONVERSATION_HEADER = (
    "id",
    "owner",
    "title",
    "started_at",
    "ended_at",
    "duration_s",
    "status",
    "end_reason",
    "provider",
    "model",
    "message_count",
    *TOKEN_FIELDS,
    "cost",
    "unpriced_usage_count",
)

TRANSCRIPT_HEADER = (
    "conversation_id",
    "position",
    "role",
    "kind",
    "status",
    "text",
    "heard_text",
    "played_ms",
    "created_at",
)


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def safe_cell(value: Cell) -> str | int | float | Decimal:
    """One cell as written to CSV: text that could start a formula is prefixed with `'`.

    Numbers are written as they are (they are ours, not user text); datetimes in ISO 8601;
    None as an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def conversation_row(conversation: Conversation) -> list[Cell]:
    """The export row of one conversation; it must carry a `message_count` annotation."""
    duration = conversation.duration_seconds
    return [
        str(conversation.id),
        conversation.owner.get_username(),
        conversation.title,
        conversation.started_at,
        conversation.ended_at,
        None if duration is None else round(duration, 3),
        conversation.status,
        conversation.end_reason,
        conversation.provider,
        conversation.model,
        conversation.message_count,  # type: ignore[attr-defined]
        *(getattr(conversation, name) for name in TOKEN_FIELDS),
        conversation.cost,
        conversation.unpriced_usage_count,
    ]


def transcript_row(message: Message) -> list[Cell]:
    """The export row of one turn."""
    return [
        str(message.conversation_id),
        message.position,
        message.role,
        message.kind,
        message.status,
        message.text,
        message.heard_text,
        message.played_ms,
        message.created_at,
    ]


def write_csv(out: Writable, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write a header and rows to `out` (a file, or an HttpResponse), every cell made safe."""
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])


def write_conversations_csv(out: Writable, conversations: Iterable[Conversation]) -> None:
    """One row per conversation, under CONVERSATION_HEADER."""
    write_csv(out, CONVERSATION_HEADER, (conversation_row(c) for c in conversations))


def write_transcripts_csv(out: Writable, messages: Iterable[Message]) -> None:
    """One row per turn, in the order given, under TRANSCRIPT_HEADER."""
    write_csv(out, TRANSCRIPT_HEADER, (transcript_row(m) for m in messages))
