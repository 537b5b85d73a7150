"""CSV exports: formula neutralisation of every text cell, headers and row contents."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from conversations import exports
from conversations.models import TOKEN_FIELDS, Conversation, Message

STARTED = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")'],
)
def test_safe_cell_prefixes_text_that_a_spreadsheet_would_evaluate(text: str) -> None:
    assert exports.safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["hello", "a=b", "1+1", " =1", "", "'quoted", "“=smart quotes”"])
def test_safe_cell_leaves_ordinary_text_alone(text: str) -> None:
    assert exports.safe_cell(text) == text


def test_safe_cell_writes_numbers_as_numbers_none_as_empty_and_datetimes_in_iso_format() -> None:
    assert exports.safe_cell(-5) == -5
    assert exports.safe_cell(Decimal("0.0069656000")) == Decimal("0.0069656000")
    assert exports.safe_cell(None) == ""
    assert exports.safe_cell(STARTED) == "2026-03-01T09:30:00+00:00"


def _conversation(**fields: object) -> Conversation:
    conversation = Conversation(
        owner=User(username="alice"),
        provider="openai",
        model="gpt-realtime",
        started_at=STARTED,
        **fields,
    )
    conversation.message_count = 4  # the annotation the admin's queryset provides
    return conversation


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_conversations_csv_has_the_header_and_one_row_per_conversation() -> None:
    ended = _conversation(
        title="Weather",
        status="completed",
        end_reason="user_stopped",
        ended_at=STARTED + dt.timedelta(seconds=75.5),
        total_tokens=253,
        cost=Decimal("0.0069656000"),
        unpriced_usage_count=1,
    )
    out = io.StringIO()

    exports.write_conversations_csv(out, [ended, _conversation(title="Still going")])

    header, first, second = _read(out.getvalue())
    assert tuple(header) == exports.CONVERSATION_HEADER
    row = dict(zip(header, first, strict=True))
    assert row["owner"] == "alice"
    assert row["title"] == "Weather"
    assert row["duration_s"] == "75.5"
    assert row["message_count"] == "4"
    assert row["total_tokens"] == "253"
    assert row["cost"] == "0.0069656000"
    assert row["unpriced_usage_count"] == "1"
    assert row["started_at"] == "2026-03-01T09:30:00+00:00"
    assert dict(zip(header, second, strict=True))["duration_s"] == ""


def test_conversations_csv_carries_every_token_field() -> None:
    assert set(TOKEN_FIELDS) <= set(exports.CONVERSATION_HEADER)


def test_conversations_csv_neutralises_a_formula_in_a_title() -> None:
    out = io.StringIO()

    exports.write_conversations_csv(out, [_conversation(title="=cmd|' /C calc'!A0")])

    row = dict(zip(*_read(out.getvalue()), strict=True))
    assert row["title"] == "'=cmd|' /C calc'!A0"


def test_transcripts_csv_has_one_row_per_turn_with_text_neutralised() -> None:
    conversation = _conversation()
    turns = [
        Message(conversation=conversation, position=1, role="user", kind="audio", text="@admin hi"),
        Message(
            conversation=conversation,
            position=2,
            role="assistant",
            kind="audio",
            status="interrupted",
            text="-1 is negative, and more",
            heard_text="-1 is negative",
            played_ms=900,
            created_at=STARTED,
        ),
    ]
    out = io.StringIO()

    exports.write_transcripts_csv(out, turns)

    header, first, second = _read(out.getvalue())
    assert tuple(header) == exports.TRANSCRIPT_HEADER
    assert first[:6] == [str(conversation.id), "1", "user", "audio", "in_progress", "'@admin hi"]
    assert second[4:] == [
        "interrupted",
        "'-1 is negative, and more",
        "'-1 is negative",
        "900",
        "2026-03-01T09:30:00+00:00",
    ]


def test_a_multiline_transcript_stays_one_csv_cell() -> None:
    out = io.StringIO()
    turn = Message(conversation=_conversation(), position=1, role="user", kind="text", text='a "b",\nc')

    exports.write_transcripts_csv(out, [turn])

    assert _read(out.getvalue())[1][5] == 'a "b",\nc'
