"""Helpers for tests that talk to the simulator: a small client and generated audio."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from .config import SimulatorConfig
from .server import RunningSimulator

GA_PATH = "/v1/realtime?model=gpt-realtime"
AZURE_GA_PATH = "/openai/v1/realtime?model=gpt-realtime"
PREVIEW_PATH = "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
HANG_GUARD_S = 10.0
VOICE_LIVE_PATH = "/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime"


def fast_config(**overrides: Any) -> SimulatorConfig:
    """A config for tests: unpaced audio, the tone voice, transcription right after the commit."""
    values: dict[str, Any] = {"realtime_factor": math.inf, "use_espeak": False, "transcription_delay_ms": 0}
    return SimulatorConfig(**{**values, **overrides})


def tone(ms: int, *, rate: int = 24000, frequency: float = 220.0, amplitude: float = 0.3) -> bytes:
    """A sine tone: loud enough to count as speech."""
    t = np.arange(rate * ms // 1000) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t) * 32767).astype("<i2").tobytes()


def silence(ms: int, *, rate: int = 24000) -> bytes:
    """Digital silence."""
    return bytes(rate * ms // 1000 * 2)


def noise(ms: int, *, rate: int = 24000, amplitude: float = 0.001, seed: int = 0) -> bytes:
    """Quiet background noise, well below the speech threshold."""
    rng = np.random.default_rng(seed)
    samples = rng.uniform(-amplitude, amplitude, rate * ms // 1000)
    return (samples * 32767).astype("<i2").tobytes()


def user_text(text: str) -> dict[str, Any]:
    """A user message item with one input_text part, for conversation.item.create."""
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    """The events of one type, in order."""
    return [event for event in events if event["type"] == event_type]


def b64(pcm: bytes) -> str:
    """Base64 text for an append event."""
    return base64.b64encode(pcm).decode("ascii")


class SimulatorClient:
    """A thin JSON-event client over one WebSocket connection."""

    def __init__(self, ws: ClientConnection) -> None:
        """Wrap an open connection."""
        self.ws = ws

    async def send(self, event_type: str, **fields: Any) -> None:
        """Send one client event."""
        await self.ws.send(json.dumps({"type": event_type, **fields}))

    async def send_audio(self, pcm: bytes, *, chunk_ms: int = 100, rate: int = 24000) -> None:
        """Append audio in chunks, as a microphone would (without real-time pacing)."""
        size = rate * chunk_ms // 1000 * 2
        for start in range(0, len(pcm), size):
            await self.send("input_audio_buffer.append", audio=b64(pcm[start : start + size]))

    async def recv(self) -> dict[str, Any]:
        """The next server event; the guard only stops a hung test, it is not a timing assertion."""
        async with asyncio.timeout(HANG_GUARD_S):
            return json.loads(await self.ws.recv())

    async def recv_until(self, *event_types: str) -> list[dict[str, Any]]:
        """Events up to and including the first one of the given types."""
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] not in event_types:
            events.append(await self.recv())
        return events

    async def collect(self, *event_types: str) -> list[dict[str, Any]]:
        """Events until each of the given types has been seen at least once (order-independent)."""
        events: list[dict[str, Any]] = []
        missing = set(event_types)
        while missing:
            events.append(await self.recv())
            missing.discard(events[-1]["type"])
        return events

    async def expect(self, event_type: str) -> dict[str, Any]:
        """The next event, which must be of this type."""
        event = await self.recv()
        assert event["type"] == event_type, event  # noqa: S101 (a test helper)
        return event


@asynccontextmanager
async def open_client(
    simulator: RunningSimulator, path: str = GA_PATH, *, key: str = "test-key", **kwargs: Any
) -> AsyncIterator[SimulatorClient]:
    """Connect with a Bearer key (accepted by every route)."""
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("additional_headers", {})}
    async with connect(simulator.url + path, additional_headers=headers, **kwargs) as ws:
        yield SimulatorClient(ws)
