"""The `realtime_simulator` management command."""

from __future__ import annotations

import asyncio
import io
import json

from websockets.asyncio.client import connect

from realtime.management.commands.realtime_simulator import Command
from realtime.simulator import SimulatorConfig, example_urls


def test_it_parses_its_options() -> None:
    options = (
        Command()
        .create_parser("manage.py", "realtime_simulator")
        .parse_args(["--port", "9000", "--host", "192.0.2.10", "--api-key", "k", "--realtime-factor", "0"])
    )
    assert (options.port, options.host, options.api_key, options.realtime_factor) == (
        9000,
        "192.0.2.10",
        "k",
        0.0,
    )


def test_it_defaults_to_port_8765_on_localhost() -> None:
    options = Command().create_parser("manage.py", "realtime_simulator").parse_args([])
    assert (options.port, options.host, options.api_key) == (8765, "127.0.0.1", None)


def test_example_urls_cover_every_route() -> None:
    urls = example_urls("ws://h:1")
    assert urls["OpenAI GA"] == "ws://h:1/v1/realtime?model=gpt-realtime"
    assert urls["Azure OpenAI GA"].startswith("ws://h:1/openai/v1/realtime?model=")
    assert "api-version=" in urls["Azure OpenAI preview"]
    assert urls["Azure Voice Live"].startswith("ws://h:1/voice-live/realtime?api-version=")


class Output(io.StringIO):
    """Captures the command's output and says when the banner is complete."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()

    def write(self, text: str) -> int:
        if "Press Ctrl-C" in text:
            self.ready.set()
        return super().write(text)


async def test_it_prints_the_urls_and_serves_every_route_until_stopped() -> None:
    out = Output()
    command = Command(stdout=out)
    stop = asyncio.Event()
    task = asyncio.create_task(command.serve(SimulatorConfig(), "127.0.0.1", 0, stop))
    await out.ready.wait()
    urls = [line.split()[-1] for line in out.getvalue().splitlines() if "ws://" in line and "?" in line]
    created = []
    for url in urls:
        async with connect(url, additional_headers={"api-key": "k", "Authorization": "Bearer k"}) as ws:
            created.append(json.loads(await ws.recv())["type"])
    stop.set()
    await task
    assert created == ["session.created"] * 4
