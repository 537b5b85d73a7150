"""Client-caused protocol errors and their upstream wording."""

from __future__ import annotations

import json
from typing import Any


class ProtocolError(Exception):
    """An `error` event to send back; the session itself stays open."""

    def __init__(self, code: str | None, message: str, param: str | None = None) -> None:
        """Keep the fields of the upstream `error.error` object."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def payload(self, client_event_id: str | None) -> dict[str, Any]:
        """Return the `error` object of an error event."""
        return {
            "type": "invalid_request_error",
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }


def show(value: Any) -> str:
    """Render a value the way upstream quotes it in messages."""
    return value if isinstance(value, str) else json.dumps(value)


def choices(values: tuple[str, ...]) -> str:
    """Format allowed values as "'a' and 'b'" or "'a', 'b', and 'c'"."""
    quoted = [f"'{value}'" for value in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def unknown_parameter(path: str) -> ProtocolError:
    """An unexpected field, e.g. a beta field sent to GA."""
    return ProtocolError("unknown_parameter", f"Unknown parameter: '{path}'.", path)


def missing_parameter(path: str) -> ProtocolError:
    """A required field is absent."""
    return ProtocolError("missing_required_parameter", f"Missing required parameter: '{path}'.", path)


def invalid_value(path: str, value: Any, allowed: tuple[str, ...]) -> ProtocolError:
    """A value outside an enumeration."""
    message = f"Invalid value: '{show(value)}'. Supported values are: {choices(allowed)}."
    return ProtocolError("invalid_value", message, path)


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a decimal",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def invalid_type(path: str, expected: str, value: Any) -> ProtocolError:
    """A value of the wrong JSON type."""
    got = _TYPE_NAMES.get(type(value), "an unknown type")
    message = f"Invalid type for '{path}': expected {expected}, but got {got} instead."
    return ProtocolError("invalid_type", message, path)


def out_of_range(path: str, value: float, bound: float, *, below: bool) -> ProtocolError:
    """A number outside its allowed range."""
    kind = "integer" if isinstance(value, int) else "decimal"
    side, sign = ("below_min", ">=") if below else ("above_max", "<=")
    words = "below minimum" if below else "above maximum"
    message = (
        f"Invalid '{path}': {kind} {words} value. Expected a value {sign} {bound}, but got {value} instead."
    )
    return ProtocolError(f"{kind}_{side}_value", message, path)
