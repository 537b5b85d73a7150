"""Titles from first turns and the heard part of interrupted answers."""

from __future__ import annotations

from conversations.transcripts import heard_text, title_from_text


def test_a_short_first_turn_is_the_title_on_one_line() -> None:
    assert title_from_text("  What is\nthe weather  ") == "What is the weather"


def test_a_long_first_turn_is_cut_at_a_word_with_an_ellipsis() -> None:
    title = title_from_text("word " * 40, limit=22)

    assert title == "word word word word…"
    assert len(title) <= 22


def test_nothing_was_heard_without_playback_or_a_known_audio_length() -> None:
    assert heard_text("Hello there", 0, 1000) == ""
    assert heard_text("Hello there", 500, None) == ""


def test_everything_was_heard_when_playback_reached_the_end() -> None:
    assert heard_text("Hello there", 1000, 1000) == "Hello there"
    assert heard_text("Hello there", 5000, 1000) == "Hello there"


def test_only_whole_words_count_as_heard() -> None:
    text = "one two three four"  # 18 characters
    assert heard_text(text, 500, 1000) == "one two"  # cut at 9: "one two t"
    assert heard_text(text, 390, 1000) == "one two"  # cut at 7, just before a space
    assert heard_text(text, 100, 1000) == ""  # cut inside the first word
