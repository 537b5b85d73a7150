"""What the relay tells a browser when something goes wrong: codes and messages safe to show.

Upstream messages are never passed on (they can quote requests); only known codes are named.
"""

from __future__ import annotations

import re

from conversations.models import Conversation

EndReason = Conversation.EndReason

# Browser close codes of /ws/voice/ (docs/protocol.md).
CLOSE_NORMAL = 1000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_TOO_MANY = 4409
CLOSE_SESSION_TOO_LONG = 4410
CLOSE_BUDGET = 4429
CLOSE_ENDED_BY_ADMIN = 4498
CLOSE_UPSTREAM_FAILED = 4502
# "Service restart" (1012) would be the standard code, but daphne only lets applications send 1000
# and 3000-4999; so: the server is restarting, reconnect.
CLOSE_SERVER_RESTART = 4503

# Errors that are expected outcomes of races the relay cannot avoid (section 4 of the reference).
HARMLESS_CODES = frozenset({"response_cancel_not_active"})

# Upstream errors after which the session cannot go on.
FATAL_CODES: dict[str, tuple[str, str, str]] = {
    "invalid_api_key": (
        "upstream_auth_failed",
        "The voice service refused the server's credentials. Ask an administrator to check the API key.",
        EndReason.AUTHENTICATION_FAILED,
    ),
    "insufficient_quota": (
        "upstream_quota",
        "The voice service account has run out of quota. Ask an administrator.",
        EndReason.UPSTREAM_ERROR,
    ),
    "beta_api_shape_disabled": (
        "upstream_error",
        "The voice service no longer accepts this protocol version. Ask an administrator.",
        EndReason.UPSTREAM_ERROR,
    ),
}

MESSAGES: dict[str, str] = {
    "upstream_auth_failed": FATAL_CODES["invalid_api_key"][1],
    "upstream_unavailable": "The voice service cannot be reached right now. Please try again shortly.",
    "upstream_closed": "The voice service ended the connection. What was said so far is saved.",
    "upstream_rejected_session": "The voice service refused the session settings. Ask an administrator.",
    "idle_timeout": "The session ended after a long silence.",
    "session_too_long": "The session reached its maximum length. Start a new one to go on.",
    "ended_by_admin": "An administrator ended this session.",
    "server_restart": "The server is restarting. Reconnect in a moment to go on.",
    "internal_error": "Something went wrong on the server; the session ended. What was said is saved.",
    "transcription_failed": "Your words could not be transcribed.",
    "unknown_item": "There is no assistant audio with that item id.",
    "audio_buffer_full": "Too much audio is waiting for the voice service; this frame was dropped.",
}

_CODE = re.compile(r"^[a-z0-9_.]{1,64}$")


def error_event(code: str, message: str | None = None, **extra: str) -> dict[str, str]:
    """An error event for the browser."""
    return {"type": "error", "code": code, "message": message or MESSAGES[code], **extra}


def upstream_error_event(upstream_code: str) -> dict[str, str]:
    """A non-fatal upstream error: named by its code when the code looks like one, never its text."""
    safe = upstream_code if _CODE.match(upstream_code) else "unknown"
    return error_event(
        "upstream_error", f"The voice service reported a problem ({safe}).", upstream_code=safe
    )
