"""What a user may put in their session settings, per provider: one set of rules for API and pages.

Every error names the field and says what is allowed, so an integrator or a person can fix it.
"""

from __future__ import annotations

import re
from typing import Any

from conversations.models import Eagerness
from realtime.providers import Provider

MAX_INSTRUCTIONS_CHARS = 4000
VAD_THRESHOLD = (0.0, 1.0)
VAD_PREFIX_PADDING_MS = (0, 2000)
VAD_SILENCE_DURATION_MS = (100, 5000)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")

SETTING_NAMES = (
    "voice",
    "instructions",
    "turn_detection",
    "vad_threshold",
    "vad_prefix_padding_ms",
    "vad_silence_duration_ms",
    "vad_eagerness",
    "transcription_model",
    "transcription_language",
    "max_output_tokens",
    "provider_options",
)


def settings_errors(values: dict[str, Any], provider: Provider) -> dict[str, str]:
    """Problems with (some of) a user's settings for this provider, by field; empty when all is well.

    Only the fields present in `values` are checked, so a partial update is validated as given.
    """
    errors: dict[str, str] = {}
    for name, value in values.items():
        check = _CHECKS.get(name)
        if check is None:
            errors[name] = f"Unknown setting. Settings are: {', '.join(SETTING_NAMES)}."
            continue
        problem = check(value, provider)
        if problem:
            errors[name] = problem
    return errors


def _one_of(value: Any, allowed: tuple[str, ...], *, blank: bool = False) -> str | None:
    if blank and value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        return f"Must be one of: {', '.join(allowed)}" + (" (or empty for the default)." if blank else ".")
    return None


def _number(value: Any, bounds: tuple[float, float], *, integer: bool, unit: str = "") -> str | None:
    if value is None:
        return None  # the provider's default
    low, high = bounds
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "a whole number" if integer else "a number"
        return f"Must be {what} from {low:g} to {high:g}{unit}, or empty for the default."
    return None


def _voice(value: Any, provider: Provider) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str) or len(value) > 100 or not provider.accepts_voice(value):
        return f"Must be a voice {provider.name} offers, such as: {', '.join(provider.voices)}."
    return None


def _instructions(value: Any, provider: Provider) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_INSTRUCTIONS_CHARS:
        return f"Must be text of at most {MAX_INSTRUCTIONS_CHARS} characters."
    if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
        return "Must not contain NUL or unpaired surrogate characters."  # no database stores them
    return None


def _language(value: Any, provider: Provider) -> str | None:
    if value == "" or (isinstance(value, str) and _LANGUAGE.fullmatch(value)):
        return None
    return "Must be a language code such as en, de or pt-BR, or empty to detect the language."


def _max_output_tokens(value: Any, provider: Provider) -> str | None:
    return _number(value, (1, provider.max_output_tokens), integer=True, unit=" tokens")


def _provider_options(value: Any, provider: Provider) -> str | None:
    if not isinstance(value, dict):
        return "Must be an object."
    unknown = sorted(set(value) - set(provider.option_names))
    if unknown:
        return f"Unknown option {unknown[0]!r}; {provider.name} takes: {', '.join(provider.option_names)}."
    if "noise_reduction" in value and value["noise_reduction"] not in ("", *provider.noise_reductions):
        return f"noise_reduction must be one of: {', '.join(provider.noise_reductions)} (or empty for none)."
    if "echo_cancellation" in value and not isinstance(value["echo_cancellation"], bool):
        return "echo_cancellation must be true or false."
    return None


_CHECKS: dict[str, Any] = {
    "voice": _voice,
    "instructions": _instructions,
    "turn_detection": lambda v, p: _one_of(v, p.turn_detection_types),
    "vad_threshold": lambda v, p: _number(v, VAD_THRESHOLD, integer=False),
    "vad_prefix_padding_ms": lambda v, p: _number(v, VAD_PREFIX_PADDING_MS, integer=True, unit=" ms"),
    "vad_silence_duration_ms": lambda v, p: _number(v, VAD_SILENCE_DURATION_MS, integer=True, unit=" ms"),
    "vad_eagerness": lambda v, p: _one_of(v, tuple(Eagerness.values)),
    "transcription_model": lambda v, p: _one_of(v, p.transcription_models, blank=True),
    "transcription_language": _language,
    "max_output_tokens": _max_output_tokens,
    "provider_options": _provider_options,
}
