"""One response's lifecycle (§3, §4): created, item and part, paced deltas, the done events, usage."""

from __future__ import annotations

import asyncio
import base64
import math
from contextlib import suppress
from typing import Any, Protocol

from .answers import pieces
from .config import SimulatorConfig
from .conversation import Conversation, Item, Part
from .dialect import Dialect
from .ids import IdFactory
from .settings import Settings
from .speech import synthesize
from .usage import Segment, UsageMeter, assistant_audio_tokens, item_segment, text_tokens

RATE_LIMIT_TOKENS = 15_000_000  # the tokens limit a 2026-09 probe saw


class ResponseHost(Protocol):
    """What a response needs from its session."""

    dialect: Dialect
    ids: IdFactory
    config: SimulatorConfig
    conversation: Conversation
    conversation_id: str
    meter: UsageMeter

    async def emit(self, event_type: str, **fields: Any) -> None:
        """Send one server event."""

    async def close(self, code: int, reason: str) -> None:
        """Close the connection."""


class Responder:
    """Generates one response; a session may cancel it at any pause."""

    def __init__(
        self,
        host: ResponseHost,
        *,
        settings: Settings,
        answer: str,
        segments: list[Segment],
        in_conversation: bool = True,
        metadata: Any = None,
        abort_midway: bool = False,
    ) -> None:
        """Prepare ids and state; nothing is sent until `run`."""
        self.host = host
        self.id = host.ids.new("resp")
        self.item = Item(id=host.ids.new("item"), role="assistant", status="in_progress")
        self.settings, self.answer, self.segments = settings, answer, segments
        self.in_conversation, self.metadata, self.abort_midway = in_conversation, metadata, abort_midway
        self.cancel_reason: str | None = None
        self.finished = asyncio.Event()
        self._wake = asyncio.Event()
        self._done_sent = False
        self._text = ""
        self._audio_bytes = 0
        self._part = Part(host.dialect.assistant_part_type(audio=settings.audio_output))

    @property
    def generating(self) -> bool:
        """True until response.done goes out; only then may another response start."""
        return not self._done_sent and not self.finished.is_set()

    async def cancel(self, reason: str) -> None:
        """Stop at the next pause, close the open parts and wait for response.done (§4)."""
        if self.finished.is_set():
            return
        self.cancel_reason = self.cancel_reason or reason
        self._wake.set()
        await self.finished.wait()

    async def run(self) -> None:
        """Send the whole response; sets `finished` however it ends."""
        try:
            await self._start()
            await self._pause(self.host.config.slow_response_s)
            stream = self._stream_audio if self.settings.audio_output else self._stream_text
            if await stream():
                await self._finish()
        finally:
            self.finished.set()

    @property
    def _ids(self) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": self.item.id, "output_index": 0, "content_index": 0}

    def _part_fields(self) -> dict[str, Any]:
        # content_part events say "audio" or "text" in every dialect ([CAP], §3).
        if self.settings.audio_output:
            return {"type": "audio", "transcript": self._text}
        return {"type": "text", "text": self._text}

    async def _start(self) -> None:
        host, dialect = self.host, self.host.dialect
        await host.emit("response.created", response=self._response("in_progress", None))
        previous = host.conversation.append(self.item) if self.in_conversation else None
        rendered = dialect.render_item(self.item)
        await host.emit("response.output_item.added", response_id=self.id, output_index=0, item=rendered)
        if self.in_conversation:
            name = "conversation.item.added" if dialect.is_ga else "conversation.item.created"
            await host.emit(name, previous_item_id=previous, item=rendered)
        self._set_part_text()
        self.item.parts.append(self._part)
        await host.emit("response.content_part.added", **self._ids, part=self._part_fields())

    def _paced(self, seconds_of_output: float) -> float:
        """Wall time to spend producing this much output; 0 or inf means unpaced."""
        factor = self.host.config.realtime_factor
        return seconds_of_output / factor if 0 < factor < math.inf else 0.0

    async def _pause(self, seconds: float) -> None:
        if self.cancel_reason:
            return
        if seconds <= 0 or not math.isfinite(seconds):
            await asyncio.sleep(0)  # still let the receive loop run (cancel, barge-in)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _delta(self, kind: str, piece: str) -> None:
        self._text += piece
        self._set_part_text()
        extra = {"obfuscation": self.host.ids.obfuscation()} if self.host.dialect.is_ga else {}
        await self.host.emit(self.host.dialect.output_event(kind, "delta"), **self._ids, delta=piece, **extra)

    def _set_part_text(self) -> None:
        # A truncated item keeps its dropped transcript (§4.6) even while audio still streams.
        if self.item.truncated:
            return
        if self._part.is_audio:
            self._part.transcript = self._text
            self._part.audio_ms = self._audio_ms
        else:
            self._part.text = self._text

    @property
    def _audio_ms(self) -> int:
        return self._audio_bytes // 2 * 1000 // self.settings.output_rate

    async def _stream_text(self) -> bool:
        for piece in pieces(self.answer):
            if self.cancel_reason:
                break
            await self._delta("text", piece)
            await self._pause(self._paced(0.05))
        return True

    async def _stream_audio(self) -> bool:
        """Interleave transcript and ~100 ms audio deltas; False if the connection was dropped."""
        config, settings = self.host.config, self.settings
        pcm = await synthesize(
            self.answer, rate=settings.output_rate, voice=settings.voice_name, use_espeak=config.use_espeak
        )
        size = settings.output_rate * config.audio_chunk_ms // 1000 * 2
        chunks = [pcm[start : start + size] for start in range(0, len(pcm), size)]
        words = pieces(self.answer)
        abort_at = max(1, len(chunks) // 2) if self.abort_midway else None
        sent_words = 0
        for index, chunk in enumerate(chunks):
            if self.cancel_reason:
                break
            if index == abort_at:
                await self.host.close(1011, "simulated upstream failure")
                return False
            # The transcript runs slightly ahead of the audio, as upstream's does.
            due = math.ceil((index + 1) * len(words) / len(chunks))
            for piece in words[sent_words:due]:
                await self._delta("transcript", piece)
            sent_words = max(sent_words, due)
            await self._audio_delta(chunk)
            await self._pause(self._paced(config.audio_chunk_ms / 1000))
        if self.abort_midway and abort_at is not None and abort_at >= len(chunks):
            await self.host.close(1011, "simulated upstream failure")
            return False
        return True

    async def _audio_delta(self, chunk: bytes) -> None:
        self._audio_bytes += len(chunk)
        self._set_part_text()
        name = self.host.dialect.output_event("audio", "delta")
        await self.host.emit(name, **self._ids, delta=base64.b64encode(chunk).decode("ascii"))

    async def _finish(self) -> None:
        host, dialect = self.host, self.host.dialect
        cancelled = self.cancel_reason is not None
        self.item.status = "incomplete" if cancelled else "completed"
        if self.settings.audio_output:
            await host.emit(dialect.output_event("audio", "done"), **self._ids)
            await host.emit(dialect.output_event("transcript", "done"), **self._ids, transcript=self._text)
        else:
            await host.emit(dialect.output_event("text", "done"), **self._ids, text=self._text)
        await host.emit("response.content_part.done", **self._ids, part=self._part_fields())
        rendered = dialect.render_item(self.item)
        in_conversation = self.item in host.conversation.items
        if dialect.is_ga and in_conversation:
            # The 2026-09 probe saw conversation.item.done just before response.output_item.done.
            previous = host.conversation.previous_id(self.item)
            await host.emit("conversation.item.done", previous_item_id=previous, item=rendered)
        await host.emit("response.output_item.done", response_id=self.id, output_index=0, item=rendered)
        usage = host.meter.response_usage(
            self.segments, text_tokens(self._text), assistant_audio_tokens(self._audio_ms)
        )
        if in_conversation:
            host.meter.remember(item_segment(self.item))
        details = {"type": "cancelled", "reason": self.cancel_reason} if cancelled else None
        status = "cancelled" if cancelled else "completed"
        self._done_sent = True
        await host.emit("response.done", response=self._response(status, details, [rendered], usage))
        if dialect.sends_rate_limits:
            # Real traffic shows this right after response.done (2026-09 probe; §4 says "near the end").
            remaining = max(0, RATE_LIMIT_TOKENS - host.meter.total_tokens)
            limits = [
                {"name": "tokens", "limit": RATE_LIMIT_TOKENS, "remaining": remaining, "reset_seconds": 0.001}
            ]
            await host.emit("rate_limits.updated", rate_limits=limits)

    def _response(
        self,
        status: str,
        details: dict[str, Any] | None,
        output: list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": output or [],
            "conversation_id": self.host.conversation_id if self.in_conversation else None,
            **self.host.dialect.schema.response_fields(self.settings),
            "usage": usage,
            "metadata": self.metadata,
        }
