"""The WebSocket server: handshake checks, fatal-at-connect errors, and `run_simulator`."""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .config import SimulatorConfig
from .ids import IdFactory
from .routes import Rejection, Route, resolve
from .session import RealtimeSession

logger = logging.getLogger(__name__)


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The websockets library's own log lines, demoted to DEBUG, without frame or header dumps."""

    def isEnabledFor(self, level: int) -> bool:
        """Say no to DEBUG, so the library never dumps frames or handshake headers (they carry keys)."""
        return level > logging.DEBUG and self.logger.isEnabledFor(_demoted(level))

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log INFO as DEBUG; drop the library's DEBUG; keep warnings and errors."""
        if self.isEnabledFor(level):
            self.logger.log(_demoted(level), msg, *args, **kwargs)


def _demoted(level: int) -> int:
    return logging.DEBUG if level == logging.INFO else level


MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # room for a 15 MiB append in base64 (§7)
BETA_DISABLED = {
    # Exactly what OpenAI sends to `OpenAI-Beta: realtime=v1` clients (§0).
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "code": "beta_api_shape_disabled",
        "message": "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
        "param": None,
    },
}


@dataclass
class RunningSimulator:
    """Handle on a running simulator: where it listens, its live config, connections so far and open now."""

    url: str
    config: SimulatorConfig
    connections: int = 0
    open_connections: int = 0
    _routes: weakref.WeakKeyDictionary[ServerConnection, Route] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False
    )

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse bad handshakes with an HTTP status; remember the route of good ones."""
        result = resolve(request.path, request.headers, self.config)
        if isinstance(result, Rejection):
            logger.debug("simulator refused %s with %s", request.path.split("?")[0], result.status)
            response = connection.respond(result.status, json.dumps(result.body))
            response.headers = Headers(
                [(k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type"]
                + [("Content-Type", "application/json")]
            )
            return response
        self._routes[connection] = result
        return None

    async def handle(self, connection: ServerConnection) -> None:
        """Serve one upgraded connection."""
        route = self._routes.pop(connection)
        self.connections += 1
        self.open_connections += 1
        try:
            await self._serve(connection, route, self.connections)
        finally:
            self.open_connections -= 1

    async def _serve(self, connection: ServerConnection, route: Route, number: int) -> None:
        config = self.config.snapshot()
        fatal = _fatal_error(route, IdFactory(config.seed, number))
        if fatal is not None:
            event, code, reason = fatal
            await connection.send(json.dumps(event))
            await connection.close(code, reason)
            return
        session = RealtimeSession(
            connection,
            dialect=route.dialect(),
            model=route.model or "",
            config=config,
            number=number,
        )
        await session.run()


def _fatal_error(route: Route, ids: IdFactory) -> tuple[dict[str, Any], int, str] | None:
    """Errors OpenAI reports right after the upgrade and then closes on (2026-09 probe, §0)."""
    if route.beta_header and not route.auth_problem:
        return BETA_DISABLED, 4000, "invalid_request_error.beta_api_shape_disabled"
    if route.auth_problem == "missing":
        code, message = None, "Missing bearer or basic authentication in header"
        close = (3000, "invalid_request_error")
    elif route.auth_problem:
        code = "invalid_api_key"
        message = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
        close = (3000, "invalid_request_error.invalid_api_key")
    elif not route.model and route.kind in ("openai", "azure-ga"):
        code = "missing_model"
        message = "You must provide a model parameter, for example wss://api.openai.com/v1/realtime?model=gpt-realtime-1.5"
        close = (4000, "invalid_request_error.missing_model")
    else:
        return None
    error = {
        "type": "invalid_request_error",
        "code": code,
        "message": message,
        "param": None,
        "event_id": None,
    }
    return {"type": "error", "event_id": ids.new("event"), "error": error}, *close


@asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator while the block runs; port 0 picks a free port."""
    simulator = RunningSimulator(url="", config=config or SimulatorConfig())
    async with serve(
        simulator.handle,
        host,
        port,
        process_request=simulator.process_request,
        max_size=MAX_MESSAGE_BYTES,
        compression=None,
        server_header="realtime-simulator",
        logger=_QuietLogger(logging.getLogger("realtime.simulator.websockets")),
    ) as server:
        bound_port = server.sockets[0].getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        simulator.url = f"ws://{shown_host}:{bound_port}"
        yield simulator
