"""Small composable validators that raise upstream-worded errors for session and response payloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import invalid_type, invalid_value, missing_parameter, out_of_range, unknown_parameter

Validator = Callable[[Any, str], None]


def anything(value: Any, path: str) -> None:
    """Accept any JSON value (fields the simulator stores but never interprets)."""


def string(*, nullable: bool = False) -> Validator:
    """A string."""

    def check(value: Any, path: str) -> None:
        if not (isinstance(value, str) or (nullable and value is None)):
            raise invalid_type(path, "a string", value)

    return check


def boolean(*, nullable: bool = False) -> Validator:
    """A boolean."""

    def check(value: Any, path: str) -> None:
        if not (isinstance(value, bool) or (nullable and value is None)):
            raise invalid_type(path, "a boolean", value)

    return check


def _bounded(value: float, path: str, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise out_of_range(path, value, minimum, below=True)
    if maximum is not None and value > maximum:
        raise out_of_range(path, value, maximum, below=False)


def integer(*, minimum: int | None = None, maximum: int | None = None, nullable: bool = False) -> Validator:
    """An integer within optional bounds."""

    def check(value: Any, path: str) -> None:
        if nullable and value is None:
            return
        # bool is an int subclass in Python but not in JSON.
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_type(path, "an integer", value)
        _bounded(value, path, minimum, maximum)

    return check


def number(
    *, minimum: float | None = None, maximum: float | None = None, nullable: bool = False
) -> Validator:
    """A decimal within optional bounds."""

    def check(value: Any, path: str) -> None:
        if nullable and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_type(path, "a decimal", value)
        _bounded(value, path, minimum, maximum)

    return check


def enum(*allowed: str, nullable: bool = False) -> Validator:
    """One of a fixed set of strings."""

    def check(value: Any, path: str) -> None:
        if value not in allowed and not (nullable and value is None):
            raise invalid_value(path, value, allowed)

    return check


def array(item: Validator = anything, *, nullable: bool = False) -> Validator:
    """A list whose entries all pass `item`."""

    def check(value: Any, path: str) -> None:
        if nullable and value is None:
            return
        if not isinstance(value, list):
            raise invalid_type(path, "an array", value)
        for index, entry in enumerate(value):
            item(entry, f"{path}[{index}]")

    return check


def obj(fields: dict[str, Validator], *, required: tuple[str, ...] = (), nullable: bool = False) -> Validator:
    """An object with known fields only; required fields are checked first, as upstream does."""

    def check(value: Any, path: str) -> None:
        if nullable and value is None:
            return
        if not isinstance(value, dict):
            raise invalid_type(path, "an object", value)
        for key in required:
            if key not in value:
                raise missing_parameter(f"{path}.{key}")
        for key, entry in value.items():
            if key not in fields:
                raise unknown_parameter(f"{path}.{key}")
            fields[key](entry, f"{path}.{key}")

    return check


def tagged(variants: dict[str, Validator], *, nullable: bool = False) -> Validator:
    """An object whose `type` selects which fields are allowed."""

    def check(value: Any, path: str) -> None:
        if nullable and value is None:
            return
        if not isinstance(value, dict):
            raise invalid_type(path, "an object", value)
        if "type" not in value:
            raise missing_parameter(f"{path}.type")
        kind = value["type"]
        if kind not in variants:
            raise invalid_value(f"{path}.type", kind, tuple(variants))
        variants[kind](value, path)

    return check


def string_or(other: Validator) -> Validator:
    """A plain string, or whatever `other` accepts (Voice Live's voice field)."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            other(value, path)

    return check


def max_tokens(value: Any, path: str) -> None:
    """1 to 4096 or "inf" (§7)."""
    if value == "inf":
        return
    integer(minimum=1, maximum=4096)(value, path)


def require_object(value: Any, path: str) -> dict[str, Any]:
    """Return `value` if it is an object, or raise the matching error."""
    if value is None:
        raise missing_parameter(path)
    if not isinstance(value, dict):
        raise invalid_type(path, "an object", value)
    return value
