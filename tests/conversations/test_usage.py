"""Token flattening and cost arithmetic (realtime-protocol.md section 6)."""

from __future__ import annotations

from decimal import Decimal

from conversations.usage import TokenCounts, price_for, token_counts, usage_cost
from tests.factories import GPT_REALTIME_USAGE

# The response.done usage of realtime-protocol.md section 3, the section 6 worked example.
WORKED_EXAMPLE = GPT_REALTIME_USAGE


def test_it_flattens_every_token_field_of_a_response_done_usage() -> None:
    counts = token_counts(WORKED_EXAMPLE)

    assert counts == TokenCounts(
        input_text_tokens=119,
        input_audio_tokens=13,
        input_image_tokens=0,
        cached_text_tokens=64,
        cached_audio_tokens=0,
        cached_image_tokens=0,
        output_text_tokens=30,
        output_audio_tokens=91,
        input_tokens=132,
        output_tokens=121,
        total_tokens=253,
    )


def test_it_costs_the_worked_example_at_exactly_0_0069656_on_gpt_realtime() -> None:
    assert usage_cost("gpt-realtime", token_counts(WORKED_EXAMPLE)) == Decimal("0.0069656")


def test_the_dated_gpt_realtime_snapshot_shares_its_price() -> None:
    assert usage_cost("gpt-realtime-2025-08-28", token_counts(WORKED_EXAMPLE)) == Decimal("0.0069656")


def test_gpt_realtime_2_charges_more_for_text_output() -> None:
    # 30 output text tokens at 24 instead of 16 USD per million.
    expected = Decimal("0.0069656") + Decimal(30 * 8) / Decimal(1_000_000)
    assert usage_cost("gpt-realtime-2", token_counts(WORKED_EXAMPLE)) == expected


def test_an_unknown_model_gets_no_cost_rather_than_a_guess() -> None:
    assert usage_cost("my-azure-deployment", token_counts(WORKED_EXAMPLE)) is None
    assert price_for("gpt-4o-realtime-preview-2024-10-01") is None


def test_image_tokens_on_a_model_without_an_image_price_get_no_cost() -> None:
    usage = {"input_token_details": {"image_tokens": 10}, "input_tokens": 10, "total_tokens": 10}
    assert usage_cost("gpt-realtime-mini", token_counts(usage)) is None
    assert usage_cost("gpt-realtime", token_counts(usage)) == Decimal("0.00005")


def test_a_transcription_usage_counts_its_output_as_text() -> None:
    usage = {
        "type": "tokens",
        "total_tokens": 22,
        "input_tokens": 13,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 13},
        "output_tokens": 9,
    }
    counts = token_counts(usage)

    assert (counts.input_audio_tokens, counts.output_text_tokens, counts.total_tokens) == (13, 9, 22)


def test_missing_or_malformed_fields_count_as_zero_and_totals_are_derived() -> None:
    usage = {
        "input_token_details": {"text_tokens": "12", "audio_tokens": 5, "cached_tokens_details": None},
        "output_token_details": {"text_tokens": -3, "audio_tokens": 7, "reasoning_tokens": 2},
    }
    counts = token_counts(usage)

    assert counts.input_text_tokens == 0
    assert counts.input_tokens == 5
    assert counts.output_tokens == 7
    assert counts.total_tokens == 12


def test_cached_counts_larger_than_input_never_make_a_negative_cost() -> None:
    usage = {"input_token_details": {"text_tokens": 10, "cached_tokens_details": {"text_tokens": 50}}}
    cost = usage_cost("gpt-realtime", token_counts(usage))

    assert cost == Decimal("0.000004")  # all 10 text tokens at the cached 0.40 per million
