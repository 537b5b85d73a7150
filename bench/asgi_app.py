"""The app as the benchmark serves it: `voiceproject.asgi.application`, unchanged by default.

`BENCH_PERSISTENCE=off` swaps the relay's recorder for one that writes nothing, to measure what
persistence costs (the conversation row is still created when a session starts).
`BENCH_PYINSTRUMENT=<path>` profiles the whole server process and writes an HTML report to that
path at exit. `BENCH_FIXES=dispatch,db,wire` applies, as patches at import, the fixes that
docs/benchmarks.md proposes, to measure what they would gain before anyone changes the app:

- dispatch: audio frames skip Channels' per-message `close_old_connections` round trip through
  the database thread (`VoiceConsumer.dispatch`);
- db: persistent database connections (`CONN_MAX_AGE`), and WAL with `synchronous=NORMAL` on SQLite;
- wire: audio goes upstream as UTF-8 bytes in a text frame, base64 built and decoded once by
  binascii (`RelaySession._append`, `RelaySession._audio_delta`).

None of this changes any code of the app itself.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")
FIXES = set(filter(None, os.environ.get("BENCH_FIXES", "").split(",")))

if "db" in FIXES:
    from django.conf import settings

    database = settings.DATABASES["default"]
    database["CONN_MAX_AGE"] = 600
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"].endswith("sqlite3"):
        options = database.setdefault("OPTIONS", {})
        options["init_command"] = "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL"

django.setup()


class NullRecorder:
    """The recorder's interface, writing nothing."""

    failed_writes = 0

    def start(self) -> None:
        """Nothing to start."""

    def put(self, write: Any, /, **kwargs: Any) -> None:
        """Drop the write."""

    async def drain(self) -> None:
        """Nothing queued."""

    async def close(self) -> None:
        """Nothing to write."""


if os.environ.get("BENCH_PERSISTENCE") == "off":
    import realtime.relay

    realtime.relay.Recorder = NullRecorder  # type: ignore[misc,assignment]

if "dispatch" in FIXES:
    from realtime.consumers import VoiceConsumer

    _dispatch = VoiceConsumer.dispatch

    async def dispatch(self: VoiceConsumer, message: dict[str, Any]) -> None:
        """Frames never touch the database: skip Channels' close_old_connections hop for them."""
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await _dispatch(self, message)

    VoiceConsumer.dispatch = dispatch  # type: ignore[method-assign]

if "wire" in FIXES:
    import binascii
    import contextlib

    from websockets.exceptions import ConnectionClosed

    from realtime import events
    from realtime.relay import RelaySession

    APPEND_HEAD, APPEND_TAIL = b'{"type":"input_audio_buffer.append","audio":"', b'"}'

    async def _append(self: RelaySession, pcm: bytes) -> None:
        if self._ws is None:
            return
        payload = APPEND_HEAD + binascii.b2a_base64(pcm, newline=False) + APPEND_TAIL
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(payload, text=True)

    async def _audio_delta(self: RelaySession, e: events.AudioDelta) -> None:
        try:
            pcm = binascii.a2b_base64(e.audio_b64)
        except (binascii.Error, ValueError):
            return
        if e.item_id not in self._delivered:
            self._delivered[e.item_id] = 0
            await self._to_browser(
                {"type": "assistant.audio.start", "item_id": e.item_id, "response_id": e.response_id}
            )
        self._delivered[e.item_id] += len(pcm)
        await self.browser.send_bytes(pcm)

    RelaySession._append = _append  # type: ignore[method-assign]
    RelaySession._audio_delta = _audio_delta  # type: ignore[method-assign]
    import realtime.relay

    realtime.relay._HANDLERS[events.AudioDelta] = _audio_delta

if os.environ.get("BENCH_PYINSTRUMENT"):
    from pyinstrument import Profiler

    _profiler = Profiler(interval=0.0005, async_mode="disabled")
    _profiler.start()

    @atexit.register
    def _write_profile() -> None:
        _profiler.stop()
        with open(os.environ["BENCH_PYINSTRUMENT"], "w") as out:
            out.write(_profiler.output_html())


from voiceproject.asgi import application  # noqa: E402

__all__ = ["application"]
