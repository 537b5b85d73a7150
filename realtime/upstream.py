"""Opening the WebSocket to an upstream realtime service."""

from __future__ import annotations

import logging
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from realtime.providers.base import UpstreamTarget

# Assistant audio arrives in deltas of up to a few hundred kB of base64; leave ample room.
MAX_UPSTREAM_MESSAGE_BYTES = 16 * 1024 * 1024


class _NoDebug(logging.Filter):
    """websockets logs request headers (credentials) and every frame (audio) at DEBUG: never those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


wire_log = logging.getLogger("realtime.upstream.wire")
wire_log.addFilter(_NoDebug())


class UpstreamRefused(Exception):
    """The upstream refused our credentials (HTTP 401 or 403 at the handshake)."""


class UpstreamUnavailable(Exception):
    """The upstream could not be reached or did not complete the handshake."""


class Connector(Protocol):
    async def __call__(self, target: UpstreamTarget, *, open_timeout: float) -> ClientConnection: ...


async def connect_upstream(target: UpstreamTarget, *, open_timeout: float) -> ClientConnection:
    """Connect with the target's credential headers; errors never carry the URL's query or headers."""
    try:
        return await connect(
            target.url,
            additional_headers=target.headers,
            open_timeout=open_timeout,
            max_size=MAX_UPSTREAM_MESSAGE_BYTES,
            compression=None,  # base64 audio barely compresses; deflate would only cost CPU
            ping_interval=20,
            ping_timeout=20,
            # When a session ends, nobody reads what the upstream still sends; an upstream with a
            # backlog would not see our close frame, so the handshake must not wait long.
            close_timeout=1,
            logger=wire_log,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise UpstreamRefused(f"HTTP {status} from {target.safe_url}") from None
        raise UpstreamUnavailable(f"HTTP {status} from {target.safe_url}") from None
    except (WebSocketException, OSError, TimeoutError) as exc:
        # Never the exception's own text: some quote the full URL, query and all.
        raise UpstreamUnavailable(f"{type(exc).__name__} connecting to {target.safe_url}") from None
