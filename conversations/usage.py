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


def _count(mapping: Any, key: str) -> int:
    """A non-negative integer from a payload, treating missing, null or malformed values as 0."""
    if not isinstance(mapping, dict):
        return 0
    value = mapping.get(key)
    # type() rather than isinstance(): a bool is an int, and must not count as one.
    return value if type(value) is int and value >= 0 else 0


def token_counts(usage: dict[str, Any]) -> TokenCounts:
    """Flatten a `response.done` or transcription usage object (GA and beta shapes are the same)."""
    inp = usage.get("input_token_details")
    cached = inp.get("cached_tokens_details") if isinstance(inp, dict) else None
    out = usage.get("output_token_details")
    input_text = _count(inp, "text_tokens")
    input_audio = _count(inp, "audio_tokens")
    input_image = _count(inp, "image_tokens")
    if isinstance(out, dict):
        output_text, output_audio = _count(out, "text_tokens"), _count(out, "audio_tokens")
    else:
        # Transcription usage has no output breakdown: a speech-to-text model outputs only text.
        output_text, output_audio = _count(usage, "output_tokens"), 0
    input_tokens = _count(usage, "input_tokens") or input_text + input_audio + input_image
    output_tokens = _count(usage, "output_tokens") or output_text + output_audio
    return TokenCounts(
        input_text,
        input_audio,
        input_image,
        _count(cached, "text_tokens"),
        _count(cached, "audio_tokens"),
        _count(cached, "image_tokens"),
        output_text,
        output_audio,
        input_tokens,
        output_tokens,
        _count(usage, "total_tokens") or input_tokens + output_tokens,
    )


def price_for(model: str) -> dict[str, Decimal] | None:
    """USD per 1M tokens by kind for a model, or None when the model has no known price."""
    name = settings.REALTIME_PRICE_ALIASES.get(model, model)
    table = settings.REALTIME_PRICES.get(name)
    if table is None:
        return None
    return dict(_decimal_prices(tuple(table.items())))


@lru_cache(maxsize=64)
def _decimal_prices(table: tuple[tuple[str, str], ...]) -> dict[str, Decimal]:
    """A price table with Decimal prices; cached by its contents, as settings rarely change."""
    return {kind: Decimal(value) for kind, value in table}


def usage_cost(model: str, tokens: TokenCounts) -> Decimal | None:
    """Cost in USD of one usage record, following realtime-protocol.md section 6.

    Cached tokens are billed at the cached rate and the rest of the input at the full rate.
    Returns None for an unknown model, and for image tokens on a model without an image price.
    """
    price = price_for(model)
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
