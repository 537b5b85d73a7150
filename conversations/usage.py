"""Turning upstream usage payloads into token counts and a cost."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from django.conf import settings

_MILLION = Decimal(1_000_000)


class TokenCounts(NamedTuple):
    """Every token field of a realtime usage payload, flattened; cached counts are subsets of input.

    A named tuple: a busy worker makes one per upstream response, and a tuple is made at C speed.
    """

    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_image_tokens: int = 0
    cached_text_tokens: int = 0
    cached_audio_tokens: int = 0
    cached_image_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self._fields, self, strict=True))


_DETAIL_KINDS = ("text_tokens", "audio_tokens", "image_tokens")
_TOTALS = ("input_tokens", "output_tokens", "total_tokens")


def _counts(mapping: Any, keys: tuple[str, ...]) -> list[int]:
    """Non-negative integers from a payload, a missing, null or malformed value as 0."""
    if not isinstance(mapping, dict):
        return [0] * len(keys)
    # type() rather than isinstance(): a bool is an int, and must not count as one.
    return [value if type(value := mapping.get(key)) is int and value >= 0 else 0 for key in keys]


def token_counts(usage: dict[str, Any]) -> TokenCounts:
    """Flatten a `response.done` or transcription usage object (GA and beta shapes are the same)."""
    inp = usage.get("input_token_details")
    cached = inp.get("cached_tokens_details") if isinstance(inp, dict) else None
    out = usage.get("output_token_details")
    input_text, input_audio, input_image = _counts(inp, _DETAIL_KINDS)
    cached_text, cached_audio, cached_image = _counts(cached, _DETAIL_KINDS)
    input_tokens, output_tokens, total_tokens = _counts(usage, _TOTALS)
    if isinstance(out, dict):
        output_text, output_audio, _ = _counts(out, _DETAIL_KINDS)
    else:
        # Transcription usage has no output breakdown: a speech-to-text model outputs only text.
        output_text, output_audio = output_tokens, 0
    input_tokens = input_tokens or input_text + input_audio + input_image
    output_tokens = output_tokens or output_text + output_audio
    return TokenCounts(
        input_text,
        input_audio,
        input_image,
        cached_text,
        cached_audio,
        cached_image,
        output_text,
        output_audio,
        input_tokens,
        output_tokens,
        total_tokens or input_tokens + output_tokens,
    )


def price_for(model: str) -> dict[str, Decimal] | None:
    """USD per 1M tokens by kind for a model, or None when the model has no known price."""
    prices = _prices(model)
    return None if prices is None else dict(prices)


def _prices(model: str) -> dict[str, Decimal] | None:
    """The prices of `price_for` as one dict shared by every caller: to be read, never changed."""
    name = settings.REALTIME_PRICE_ALIASES.get(model, model)
    table = settings.REALTIME_PRICES.get(name)
    if table is None:
        return None
    return _decimal_prices(tuple(table.items()))


@lru_cache(maxsize=64)
def _decimal_prices(table: tuple[tuple[str, str], ...]) -> dict[str, Decimal]:
    """A price table with Decimal prices; cached by its contents, as settings rarely change."""
    return {kind: Decimal(value) for kind, value in table}


def usage_cost(model: str, tokens: TokenCounts) -> Decimal | None:
    """Cost in USD of one usage record, following realtime-protocol.md section 6.

    Cached tokens are billed at the cached rate and the rest of the input at the full rate.
    Returns None for an unknown model, and for image tokens on a model without an image price.
    """
    price = _prices(model)
    if price is None:
        return None
    if (tokens.input_image_tokens or tokens.cached_image_tokens) and "image_in" not in price:
        return None
    zero = Decimal(0)
    # Cached counts are subsets of input counts; min() keeps a malformed payload from going negative.
    cached_text = min(tokens.cached_text_tokens, tokens.input_text_tokens)
    cached_audio = min(tokens.cached_audio_tokens, tokens.input_audio_tokens)
    cached_image = min(tokens.cached_image_tokens, tokens.input_image_tokens)
    total = (
        (tokens.input_text_tokens - cached_text) * price["text_in"]
        + cached_text * price["text_cached"]
        + (tokens.input_audio_tokens - cached_audio) * price["audio_in"]
        + cached_audio * price["audio_cached"]
        + (tokens.input_image_tokens - cached_image) * price.get("image_in", zero)
        + cached_image * price.get("image_cached", zero)
        + tokens.output_text_tokens * price["text_out"]
        + tokens.output_audio_tokens * price["audio_out"]
    )
    return total / _MILLION
