"""Exports of conversations: CSV safe to open in a spreadsheet; one conversation as JSON or Markdown.

Titles and transcripts are user text, so every text cell is neutralised against formula injection
(OWASP "CSV injection"): a cell that a spreadsheet would evaluate gets a leading apostrophe, which
makes it plain text. The functions here only turn objects into rows and rows into CSV; choosing and
fetching the objects (with `select_related("owner")` and a `message_count` annotation for
conversations) is the caller's job, so an export costs the same number of queries for any size.

The JSON and Markdown exports of one conversation expect it as `selectors.conversation_get` returns
it (turns and usage prefetched). In Markdown every piece of user text is escaped, so a transcript
cannot inject markup, links or HTML into a rendered export.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol

from django.utils import timezone

from conversations.models import TOKEN_FIELDS, Conversation, Message, Usage

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


# --- One conversation as JSON or Markdown ----------------------------------------------------------

EXPORT_VERSION = 1
COST_PLACES = Decimal("1e-10")


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(COST_PLACES))


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 as the API writes it: UTC as `Z`."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def message_export(message: Message) -> dict[str, Any]:
    """One turn, with what the user heard of an interrupted answer."""
    return {
        "position": message.position,
        "role": message.role,
        "kind": message.kind,
        "status": message.status,
        "text": message.text,
        "interrupted": message.was_interrupted,
        "heard_text": message.heard_text,
        "played_ms": message.played_ms,
        "audio_duration_ms": message.audio_duration_ms,
        "created_at": _iso(message.created_at),
    }


def usage_export(usage: Usage) -> dict[str, Any]:
    """One usage report: its tokens by kind and its cost (null when its model has no price)."""
    return {
        "kind": usage.kind,
        "model": usage.model,
        "status": usage.status,
        **{name: getattr(usage, name) for name in TOKEN_FIELDS},
        "cost": _decimal(usage.cost),
        "created_at": _iso(usage.created_at),
    }


def conversation_export(conversation: Conversation) -> dict[str, Any]:
    """The whole conversation as JSON-ready data: turns in order, interruptions, usage totals and reports."""
    duration = conversation.duration_seconds
    return {
        "export_version": EXPORT_VERSION,
        "id": str(conversation.id),
        "title": conversation.title,
        "status": conversation.status,
        "end_reason": conversation.end_reason,
        "provider": conversation.provider,
        "model": conversation.model,
        "voice": conversation.voice,
        "started_at": _iso(conversation.started_at),
        "ended_at": _iso(conversation.ended_at),
        "duration_seconds": None if duration is None else round(duration, 3),
        "messages": [message_export(m) for m in conversation.messages.all()],
        "usage": {
            "totals": {
                **{name: getattr(conversation, name) for name in TOKEN_FIELDS},
                "cost": _decimal(conversation.cost),
                "unpriced_usage_count": conversation.unpriced_usage_count,
            },
            "reports": [usage_export(u) for u in conversation.usages.all()],
        },
    }


# Entities for HTML's specials; a backslash before every character with a Markdown meaning (CommonMark
# lets any ASCII punctuation be escaped so). "." only matters after a number at a line's start.
_MARKDOWN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"} | {c: "\\" + c for c in "\\`*_{}[]()#+-!|~=^$"}
)
_ORDERED_LIST_MARKER = re.compile(r"^(\d+)\.", re.MULTILINE)


def markdown_escape(text: str) -> str:
    """User text as Markdown that renders as exactly that text: no markup, HTML, links or code.

    Lines keep their breaks but lose their indentation, which would otherwise start a code block.
    """
    lines = (line.strip() for line in text.splitlines())
    escaped = "\n".join(line.translate(_MARKDOWN_ESCAPES) for line in lines)
    return _ORDERED_LIST_MARKER.sub(r"\1\\.", escaped)


def markdown_escape_line(text: str) -> str:
    """User text for one line (a heading or a list item): whitespace runs become single spaces."""
    return markdown_escape(" ".join(text.split()))


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z") if value else "not yet"


def _markdown_facts(conversation: Conversation) -> Iterator[str]:
    status = conversation.get_status_display()
    if conversation.end_reason:
        status += f" ({conversation.get_end_reason_display().lower()})"
    yield f"- Started: {_when(conversation.started_at)}"
    yield f"- Ended: {_when(conversation.ended_at)}"
    yield f"- Status: {markdown_escape_line(status)}"
    model = ", ".join(
        part for part in (conversation.provider, conversation.model, conversation.voice) if part
    )
    yield f"- Model: {markdown_escape_line(model)}"
    yield (
        f"- Tokens: {conversation.total_tokens} (input {conversation.input_tokens}, "
        f"output {conversation.output_tokens})"
    )
    cost = f"- Cost: {conversation.cost.normalize():f} USD"
    if conversation.unpriced_usage_count:
        cost += f", not counting {conversation.unpriced_usage_count} report(s) of a model without a price"
    yield cost


def _markdown_turn(message: Message) -> Iterator[str]:
    heading = f"### {message.position}. {message.get_role_display()}"
    if message.was_interrupted:
        heading += f" (interrupted after {message.played_ms or 0} ms)"
    elif message.status == Message.Status.TRANSCRIPTION_FAILED:
        heading += " (transcription failed)"
    yield heading
    if message.was_interrupted:
        yield "*Heard:* " + (markdown_escape(message.heard_text) or "nothing")
        yield "*Full answer:* " + markdown_escape(message.text)
    elif message.text:
        yield markdown_escape(message.text)


def conversation_markdown(conversation: Conversation) -> str:
    """The conversation as a Markdown document: facts, then every turn in order."""
    blocks = [
        "# " + markdown_escape_line(conversation.title or "Untitled conversation"),
        "\n".join(_markdown_facts(conversation)),
        "## Transcript",
    ]
    messages = list(conversation.messages.all())
    for message in messages:
        blocks.extend(_markdown_turn(message))
    if not messages:
        blocks.append("No turns.")
    return "\n\n".join(blocks) + "\n"
