"""With no provider configured, the app runs its own simulator on loopback."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from realtime.providers.simulator import SimulatorProvider


async def test_the_simulator_provider_starts_an_embedded_simulator_once_per_loop() -> None:
    provider = SimulatorProvider(url="")
    first = await provider.target()
    second = await SimulatorProvider(url="").target()

    assert first.url == second.url
    assert first.url.startswith("ws://127.0.0.1:")
    async with connect(first.url, additional_headers=first.headers) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
