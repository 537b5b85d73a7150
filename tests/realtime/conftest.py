"""Fixtures for relay tests: a simulator on loopback and browsers connected through the real ASGI app."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import path

from realtime.auth import websocket_stack
from realtime.consumers import VoiceConsumer
from realtime.simulator import RunningSimulator, SimulatorConfig, run_simulator
from realtime.upstream import connect_upstream
from voiceproject.asgi import application

ORIGIN = (b"origin", b"http://testserver")
RATE = 24_000


def tone(ms: int, *, freq: float = 220.0, amplitude: float = 0.3) -> bytes:
    """Voiced-sounding PCM16: a tone with a few harmonics, loud enough for energy VAD."""
    t = np.arange(int(RATE * ms / 1000)) / RATE
    wave = sum(np.sin(2 * math.pi * freq * k * t) / k for k in (1, 2, 3))
    return (wave / 1.84 * amplitude * 32767).astype("<i2").tobytes()


def silence(ms: int) -> bytes:
    return b"\x00\x00" * int(RATE * ms / 1000)


def frames(pcm: bytes, frame_ms: int = 100) -> list[bytes]:
    size = RATE * 2 * frame_ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


@dataclass
class Browser:
    """A browser-like client of /ws/voice/ that keeps everything it received."""

    communicator: WebsocketCommunicator
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    close_code: int | None = None

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_to(text_data=json.dumps(message))

    async def send_raw(self, *, text: str | None = None, data: bytes | None = None) -> None:
        await self.communicator.send_to(text_data=text, bytes_data=data)

    async def speak(self, pcm: bytes) -> None:
        for frame in frames(pcm):
            await self.communicator.send_to(bytes_data=frame)

    async def receive(self, timeout: float = 10.0) -> dict[str, Any] | None:
        """The next JSON event (binary audio is collected on the way); None once closed."""
        while True:
            output = await self.communicator.receive_output(timeout)
            if output["type"] == "websocket.close":
                self.close_code = output.get("code")
                return None
            if output.get("bytes") is not None:
                self.audio.extend(output["bytes"])
                continue
            event = json.loads(output["text"])
            self.events.append(event)
            return event

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Receive until an event matches; fails if the socket closes first."""
        while True:
            event = await self.receive(timeout)
            assert event is not None, f"closed with {self.close_code} before a match; got {self.types()}"
            if predicate(event):
                return event

    async def until_type(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        return await self.until(lambda e: e["type"] == kind, timeout)

    async def until_closed(self, timeout: float = 10.0) -> int | None:
        while await self.receive(timeout) is not None:
            pass
        return self.close_code

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def disconnect(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Fast, reproducible simulator behaviour; tests change fields before connecting."""
    return SimulatorConfig(realtime_factor=math.inf, use_espeak=False, transcription_delay_ms=0)


@pytest.fixture
async def simulator(sim_config: SimulatorConfig, settings: Any) -> AsyncIterator[RunningSimulator]:
    async with run_simulator(config=sim_config, host="127.0.0.1", port=0) as sim:
        settings.REALTIME_PROVIDER = "simulator"
        settings.REALTIME_SIMULATOR_URL = sim.url
        yield sim


@pytest.fixture
async def user(django_user_model: Any) -> Any:
    return await sync_to_async(django_user_model.objects.create_user)(username="alice", password="pw")


@sync_to_async
def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
async def connect(user: Any, simulator: RunningSimulator) -> AsyncIterator[Callable[..., Any]]:
    """Open /ws/voice/ as `user` (or another), optionally resuming a conversation."""
    opened: list[Browser] = []

    async def _connect(as_user: Any = None, *, query: str = "", headers: list[Any] | None = None) -> Browser:
        cookie = await session_cookie(as_user or user)
        communicator = WebsocketCommunicator(
            application,
            f"/ws/voice/{query}",
            headers=headers if headers is not None else [ORIGIN, (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect()
        assert connected
        browser = Browser(communicator)
        opened.append(browser)
        return browser

    yield _connect
    for browser in opened:
        await browser.communicator.disconnect()


def recording_app(sent: list[dict[str, Any]]) -> Any:
    """The voice route with a connector that remembers every event sent upstream."""

    async def recording_connector(target: Any, *, open_timeout: float) -> Any:
        upstream = await connect_upstream(target, open_timeout=open_timeout)
        original_send = upstream.send

        async def send(message: str | bytes, text: bool | None = None) -> None:
            sent.append(json.loads(message))
            await original_send(message, text=text)

        upstream.send = send  # type: ignore[method-assign]
        return upstream

    return websocket_stack(
        URLRouter([path("ws/voice/", VoiceConsumer.as_asgi(connector=recording_connector))])
    )
