"""One client connection: the protocol state machine behind every route."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from .audio_input import MAX_APPEND_BYTES, MIN_COMMIT_MS, InputAudio
from .config import SimulatorConfig
from .conversation import Conversation, Item, Part
from .dialect import Dialect
from .errors import ProtocolError, invalid_type, invalid_value, missing_parameter
from .ids import IdFactory
from .item_commands import create_item, delete_item, retrieve_item, truncate_item
from .items import decode_audio
from .settings import Settings
from .transcription import transcribe
from .turns import ResponseControl
from .usage import UsageMeter
from .vad import VadEvent, voiced_span_ms

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]


class RealtimeSession:
    """Serves one connection in one dialect until the client or a fault closes it."""

    def __init__(
        self,
        connection: ServerConnection,
        *,
        dialect: Dialect,
        model: str,
        config: SimulatorConfig,
        number: int,
    ) -> None:
        """Set up the session object, conversation and audio buffer."""
        self.ws, self.dialect, self.config = connection, dialect, config
        self.ids = IdFactory(config.seed, number)
        lifetime = config.session_max_s or (3600 if dialect.is_ga else 1800)
        self.session = dialect.schema.default_session(
            model=model, session_id=self.ids.new("sess"), expires_at=int(time.time() + lifetime)
        )
        self.conversation_id = self.ids.new("conv")
        self.conversation = Conversation()
        self.meter = UsageMeter()
        self.audio = InputAudio(self.settings.input_rate, self.settings.turn_detection)
        self.responses = ResponseControl(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending_item_id: str | None = None
        self._turn_start_ms = 0
        self._audio_turns = 0
        self._handlers: dict[str, Handler] = {
            "session.update": self._session_update,
            "session.close": self._session_close,
            "input_audio_buffer.append": self._append,
            "session.input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": partial(create_item, self),
            "conversation.item.truncate": partial(truncate_item, self),
            "conversation.item.delete": partial(delete_item, self),
            "conversation.item.retrieve": partial(retrieve_item, self),
            "response.create": self.responses.create,
            "response.cancel": self.responses.cancel,
        }

    @property
    def settings(self) -> Settings:
        """The session's effective settings."""
        return self.dialect.schema.settings(self.session)

    async def emit(self, event_type: str, **fields: Any) -> None:
        """Send one server event with a fresh event_id."""
        event = {"type": event_type, "event_id": self.ids.new("event"), **fields}
        await self.ws.send(json.dumps(event, separators=(",", ":")))

    async def close(self, code: int, reason: str) -> None:
        """Close the connection from the server side."""
        await self.ws.close(code, reason)

    async def run(self) -> None:
        """Greet with session.created, then handle client events until the connection ends."""
        try:
            await self.emit("session.created", session=self.session)
            await self._startup_faults()
            async for message in self.ws:
                await self._receive(message)
        except ConnectionClosed:
            logger.debug("simulator connection closed")
        finally:
            await self._stop_tasks()

    async def _startup_faults(self) -> None:
        fault = self.config.error_after_session_created
        if fault is not None:
            await self.emit(
                "error", error=fault.get("error", fault) if fault.get("type") == "error" else fault
            )
        if self.config.session_max_s is not None:
            self.spawn(self._expire(self.config.session_max_s))

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        span = f"{seconds / 60:g} minutes" if seconds % 60 == 0 else f"{seconds:g} seconds"
        error = ProtocolError("session_expired", f"Your session hit the maximum duration of {span}.")
        await self.emit("error", error=error.payload(None))
        # OpenAI closes fatal errors with 4000 and "type.code" as the reason (2026-09 probe).
        await self.close(4000, "invalid_request_error.session_expired")

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background work that ends with the connection."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() and not isinstance(task.exception(), ConnectionClosed):
            logger.debug("simulator task failed", exc_info=task.exception())

    async def _stop_tasks(self) -> None:
        # Background work must not outlive the connection.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _receive(self, message: str | bytes) -> None:
        client_event_id = None
        try:
            event = self._parse(message)
            client_event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            if "type" not in event:
                raise ProtocolError("invalid_event", "The 'type' field is missing.")  # wording from §3
            kind = event["type"]
            if kind not in self.dialect.client_events:
                raise invalid_value("type", kind, self.dialect.client_events)
            await self._handlers[kind](event)
        except ProtocolError as error:
            await self.emit("error", error=error.payload(client_event_id))
        except ConnectionClosed:
            raise
        except Exception:
            logger.debug("simulator failed on a client event", exc_info=True)
            message = "The server had an error while processing your request."
            error = {"type": "server_error", "code": None, "message": message, "param": None}
            await self.emit("error", error={**error, "event_id": client_event_id})

    @staticmethod
    def _parse(message: str | bytes) -> dict[str, Any]:
        # Wording from a 2026-09 probe of the real service.
        if isinstance(message, bytes):
            text = "Expected a text WebSocket message; binary frames are not supported."
            raise ProtocolError("invalid_event", text)
        try:
            event = json.loads(message)
        except ValueError as error:
            raise ProtocolError("invalid_json", "Invalid event: failed to parse JSON value.") from error
        if not isinstance(event, dict):
            raise ProtocolError("invalid_event", "Invalid event: expected a JSON object.")
        return event

    # Session.

    async def _session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            raise (
                missing_parameter("session")
                if update is None
                else invalid_type("session", "an object", update)
            )
        merged = self.dialect.schema.apply_update(self.session, update)
        settings = self.dialect.schema.settings(merged)
        voice_changed = settings.voice != self.settings.voice
        if voice_changed and self.dialect.locks_voice and self.conversation.has_assistant_audio():
            raise ProtocolError(
                "cannot_update_voice", "Cannot update a conversation's voice if assistant audio is present."
            )
        self.session = merged
        self.audio.configure(settings.input_rate, settings.turn_detection)
        await self.emit("session.updated", session=merged)

    async def _session_close(self, event: dict[str, Any]) -> None:
        await self.close(1000, "")

    # Input audio.

    async def _append(self, event: dict[str, Any]) -> None:
        data = event.get("audio")
        if not isinstance(data, str):
            raise missing_parameter("audio") if data is None else invalid_type("audio", "a string", data)
        pcm = decode_audio(data, "audio")
        if len(pcm) > MAX_APPEND_BYTES:
            raise ProtocolError(
                "invalid_value", "Audio content exceeds the 15 MiB limit of one append event.", "audio"
            )
        for vad_event in self.audio.append(pcm):
            await self._on_vad(vad_event)

    async def _on_vad(self, vad_event: VadEvent) -> None:
        turn = self.settings.turn_detection or {}
        if vad_event.kind == "started":
            self._pending_item_id = self.ids.new("item")
            self._turn_start_ms = vad_event.at_ms
            await self.emit(
                "input_audio_buffer.speech_started",
                audio_start_ms=vad_event.at_ms,
                item_id=self._pending_item_id,
            )
            if turn.get("interrupt_response", True):
                await self.responses.interrupt()
            return
        item_id, self._pending_item_id = self._pending_item_id or self.ids.new("item"), None
        await self.emit("input_audio_buffer.speech_stopped", audio_end_ms=vad_event.at_ms, item_id=item_id)
        pcm = self.audio.take(self._turn_start_ms, vad_event.at_ms)
        await self._commit_audio(pcm, item_id, vad_event.speech_ms)
        if turn.get("create_response", True):
            self.responses.answer_turn()

    async def _commit(self, event: dict[str, Any]) -> None:
        buffered = self.audio.buffered_ms
        if buffered < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {buffered:.2f}ms of audio.",
            )
        item_id, self._pending_item_id = self._pending_item_id or self.ids.new("item"), None
        pcm = self.audio.take()
        await self._commit_audio(pcm, item_id, voiced_span_ms(pcm, self.audio.rate))

    async def _commit_audio(self, pcm: bytes, item_id: str, speech_ms: int) -> None:
        transcripts = self.config.user_transcripts
        heard = transcripts[self._audio_turns] if self._audio_turns < len(transcripts) else None
        self._audio_turns += 1
        audio_ms = len(pcm) // 2 * 1000 // self.audio.rate
        part = Part("input_audio", transcript=None, audio_ms=audio_ms)
        item = Item(id=item_id, role="user", parts=[part], heard=heard, speech_ms=speech_ms)
        previous = self.conversation.append(item)
        await self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        for name, fields in self.dialect.item_events(item, previous):
            await self.emit(name, **fields)
        if self.settings.transcription is not None:
            self.spawn(transcribe(self, item, fail=self.config.fail_transcription))

    async def _clear(self, event: dict[str, Any]) -> None:
        self.audio.clear()
        self._pending_item_id = None
        await self.emit("input_audio_buffer.cleared")
