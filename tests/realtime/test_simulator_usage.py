"""Token accounting rules of the simulator (protocol §3, §6)."""

from __future__ import annotations

from realtime.simulator.conversation import Item, Part
from realtime.simulator.usage import (
    Segment,
    UsageMeter,
    instructions_segment,
    item_segment,
    text_tokens,
    transcription_usage,
)


def test_text_is_about_four_characters_per_token() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abcd") == 1
    assert text_tokens("abcde") == 2


def test_user_audio_costs_a_token_per_100_ms_and_assistant_audio_per_50_ms() -> None:
    user = Item("item_u", "user", [Part("input_audio", audio_ms=1450)])
    assistant = Item("item_a", "assistant", [Part("output_audio", transcript="Hi there", audio_ms=1450)])
    assert item_segment(user) == Segment("item_u:0:14", 0, 14)
    assert item_segment(assistant) == Segment("item_a:2:29", 2, 29)


def test_cached_tokens_are_whole_blocks_of_an_already_read_prefix() -> None:
    meter = UsageMeter()
    instructions = instructions_segment("x" * 400)  # 100 tokens, treated as always cached
    first = Segment("item_1:30:0", 30, 0)
    second = Segment("item_2:0:50", 0, 50)
    usage_one = meter.response_usage([instructions, first], out_text=5, out_audio=40)
    usage_two = meter.response_usage([instructions, first, second], out_text=5, out_audio=40)
    assert usage_one["input_token_details"]["cached_tokens"] == 64
    assert usage_two["input_token_details"]["cached_tokens"] == 128
    assert usage_two["input_token_details"]["cached_tokens_details"] == {
        "text_tokens": 128,
        "audio_tokens": 0,
        "image_tokens": 0,
    }
    assert usage_two["total_tokens"] == usage_two["input_tokens"] + usage_two["output_tokens"] == 180 + 45


def test_a_changed_item_is_no_longer_cached() -> None:
    meter = UsageMeter()
    instructions = instructions_segment("")
    meter.response_usage([instructions, Segment("item_1:0:200", 0, 200)], 0, 0)
    usage = meter.response_usage([instructions, Segment("item_1:0:10", 0, 10)], 0, 0)
    assert usage["input_token_details"]["cached_tokens"] == 0


def test_transcription_usage_has_the_tokens_shape() -> None:
    assert transcription_usage(1630, "Hello from the Gateway Probe.") == {
        "type": "tokens",
        "total_tokens": 24,
        "input_tokens": 16,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 16},
        "output_tokens": 8,
    }
