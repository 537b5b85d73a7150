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


async def test_embedded_simulators_do_not_repeat_ids_across_restarts() -> None:
    """A restarted server must not hand a resumed conversation the item ids of its old turns."""
    from realtime.providers import simulator as module

    async def first_session_id() -> str:
        target = await SimulatorProvider(url="").target()
        async with connect(target.url, additional_headers=target.headers) as ws:
            return json.loads(await ws.recv())["session"]["id"]

    before = await first_session_id()
    module._embedded.clear()  # what a process restart amounts to
    after = await first_session_id()

    assert before != after
