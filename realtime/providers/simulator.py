"""The built-in simulator as a provider: GA protocol over a real loopback WebSocket."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from contextlib import AsyncExitStack

from django.conf import settings

from realtime.dialects import DIALECTS
from realtime.providers.base import Provider, UpstreamTarget, with_query

# One embedded simulator per event loop, started on first use when no external one is configured.
# It is process infrastructure like a connection pool, not session state.
_embedded: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, AsyncExitStack]] = (
    weakref.WeakKeyDictionary()
)
_lock = asyncio.Lock()


async def embedded_simulator_url() -> str:
    """The base URL of this process's embedded simulator, starting it if needed."""
    from realtime.simulator import SimulatorConfig, run_simulator

    loop = asyncio.get_running_loop()
    async with _lock:
        if loop not in _embedded:
            stack = AsyncExitStack()
            # A random seed: ids must not repeat after a restart, or a resumed conversation's new
            # turns would carry the item ids of its old ones.
            config = SimulatorConfig(seed=secrets.randbits(64))
            sim = await stack.enter_async_context(run_simulator(config=config, host="127.0.0.1", port=0))
            _embedded[loop] = (sim.url, stack)
    return _embedded[loop][0]


class SimulatorProvider(Provider):
    """Speaks like OpenAI GA; `REALTIME_SIMULATOR_URL` points at an external simulator instead."""

    name = "simulator"
    dialect = DIALECTS["ga"]

    def __init__(self, *, url: str = "", model: str = "gpt-realtime") -> None:
        super().__init__(model=model)
        self._url = url

    @classmethod
    def from_settings(cls) -> SimulatorProvider:
        return cls(url=settings.REALTIME_SIMULATOR_URL)

    async def target(self) -> UpstreamTarget:
        base = self._url or await embedded_simulator_url()
        return UpstreamTarget(
            url=with_query(base, "/v1/realtime", {"model": self.model}),
            headers={"Authorization": "Bearer simulator-key"},
        )
