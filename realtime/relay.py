"""One voice session: the browser on one side, an upstream realtime service on the other.

The relay owns both directions and the stored record of one conversation. It knows no event
names (the provider's dialect translates) and never waits on the database (the recorder does).
It can be driven without Channels: the browser side is any object with `send_json`,
`send_bytes` and `close`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import pybase64
from channels.db import database_sync_to_async
from websockets.exceptions import ConnectionClosed

from conversations import selectors, services
from conversations.models import Message
from realtime import errors
from realtime import events as ev
from realtime import protocol as bp
from realtime.errors import EndReason
from realtime.providers.base import Provider
from realtime.recorder import Recorder
from realtime.session_config import SessionConfig
from realtime.upstream import Connector, UpstreamRefused, UpstreamUnavailable, connect_upstream

log = logging.getLogger(__name__)

# Audio the browser sends before the upstream is ready waits here, in order: up to 30 s.
MAX_PENDING_AUDIO_BYTES = 30_000 * bp.PCM_BYTES_PER_MS
# The two halves of every audio append; only the base64 between them changes from frame to frame.
_APPEND_HEAD, _APPEND_TAIL = b'{"type":"input_audio_buffer.append","audio":"', b'"}'
SESSION_UPDATE_ID = "relay_session_update"


class Browser(Protocol):
    async def send_json(self, message: dict[str, Any]) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int) -> None: ...


@dataclass(frozen=True)
class HistoryTurn:
    """A stored turn replayed upstream when a conversation is resumed."""

    role: str
    text: str


@dataclass
class LimitStop:
    """A limit that ends a running session: what to tell the browser and how to close."""

    code: str
    message: str
    close_code: int


@dataclass
class RelayOptions:
    connect_timeout_s: float = 15.0
    idle_timeout_s: float = 300.0
    greeting: str = ""
    max_session_s: float | None = None
    # Called (off the audio path) after each response; a LimitStop ends the session.
    budget_check: Callable[[], Awaitable[LimitStop | None]] | None = None
    # A database write queued after the conversation's end (e.g. leaving the live registry).
    on_end: Callable[[], None] | None = None
    # A fresh upstream session is opened after this long, before the provider's own cap.
    recycle_after_s: float | None = None
    # Waits before each attempt to reconnect after the upstream failed; then the session ends.
    reconnect_delays_s: tuple[float, ...] = (0.5, 2.0, 5.0)
    # How much of the conversation is replayed to a new upstream session (estimated tokens).
    history_tokens: int = 8_000


class RelaySession:
    """Relays one conversation and records it exactly as it happened."""

    def __init__(
        self,
        *,
        browser: Browser,
        provider: Provider,
        conversation_id: str,
        config: SessionConfig,
        history: list[HistoryTurn] | None = None,
        options: RelayOptions | None = None,
        connector: Connector = connect_upstream,
        recorder: Recorder | None = None,
    ) -> None:
        self.browser = browser
        self.provider = provider
        self.dialect = provider.dialect
        self.conversation_id = conversation_id
        self.config = config
        self.history = history or []
        self.options = options or RelayOptions()
        self.connector = connector
        self.recorder = recorder or Recorder()
        self.model = provider.model
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self._ready = False
        self._ended = False
        self._end_written = asyncio.Event()
        self._pending_audio: deque[bytes] = deque()
        self._pending_bytes = 0
        self._texts: deque[str] = deque()
        self._active_response: str | None = None
        self._awaiting_response = False
        self._response_wanted = False
        self._harmless_ids: set[str] = set()
        self._replayed_ids: set[str] = set()
        self._delivered: dict[str, int] = {}  # assistant item id -> PCM bytes sent to the browser
        self._partial: dict[str, str] = {}  # assistant item id -> transcript so far
        self._interrupted: set[str] = set()
        self._event_serial = 0
        self._last_browser_activity = 0.0
        self._greeted = False
        self._recycle_requested = False

    # --- Lifecycle ---------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start relaying in the background; `end()` stops it."""
        self._last_browser_activity = time.monotonic()
        self._reader = asyncio.create_task(self._run(), name="relay-upstream")
        self._watchdog = asyncio.create_task(self._watch_idle(), name="relay-idle")
        if self.options.max_session_s is not None:
            self._spawn(self._limit_length(self.options.max_session_s))
        return self._reader

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _limit_length(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.end(
            EndReason.LIMIT_REACHED, error="session_too_long", close_code=errors.CLOSE_SESSION_TOO_LONG
        )

    async def _check_budget(self) -> None:
        if self.options.budget_check is None:
            return
        # The usage just reported must be counted; it may linger to be written with others'.
        await self.recorder.written()
        stop = await self.options.budget_check()
        if stop is not None:
            await self.end(
                EndReason.LIMIT_REACHED,
                error=stop.code,
                error_message=stop.message,
                close_code=stop.close_code,
            )

    async def _run(self) -> None:
        """Keep an upstream session for the conversation until it ends.

        A transient failure (the upstream closed, could not be reached again, or expired) and the
        planned recycle before the provider's cap both lead to a new upstream session that gets
        the conversation replayed; the browser only sees a short notice. A failed first
        connection and fatal errors end the session at once.
        """
        failures = 0
        connected_once = False
        while True:
            try:
                outcome = await self._connect_and_relay()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Relay failed in conversation %s", self.conversation_id)
                await self.end(EndReason.UPSTREAM_ERROR, error="internal_error")
                return
            if self._ended:
                return
            if outcome == "unavailable" and not connected_once:
                await self.end(EndReason.UPSTREAM_ERROR, error="upstream_unavailable")
                return
            connected_once = connected_once or outcome != "unavailable"
            planned = outcome == "recycle"
            if planned:
                failures = 0
            elif self._ready:
                failures = 1  # a working session died: the first of a new series of attempts
            else:
                failures += 1  # an attempt failed before the new session was ready
            if failures > len(self.options.reconnect_delays_s):
                await self.end(EndReason.UPSTREAM_CLOSED, error="upstream_closed")
                return
            log.info("Conversation %s reconnecting upstream (%s)", self.conversation_id, outcome)
            await self._to_browser({"type": "session.reconnecting", "planned": planned})
            await self._prepare_reconnect()
            if failures:
                await asyncio.sleep(self.options.reconnect_delays_s[failures - 1])

    async def _connect_and_relay(self) -> str:
        """One upstream session; returns why it stopped: "unavailable", "closed" or "recycle"."""
        try:
            target = await self.provider.target()
            self._ws = await self.connector(target, open_timeout=self.options.connect_timeout_s)
        except UpstreamRefused as exc:
            log.warning("Upstream refused conversation %s: %s", self.conversation_id, exc)
            await self.end(EndReason.AUTHENTICATION_FAILED, error="upstream_auth_failed")
            return "closed"
        except UpstreamUnavailable as exc:
            log.warning("Upstream unavailable for conversation %s: %s", self.conversation_id, exc)
            return "unavailable"
        if self._ended:  # the browser left while we were connecting
            await self._ws.close()
            return "closed"
        log.info("Conversation %s connected to %s", self.conversation_id, self.provider.name)
        recycle = None
        if self.options.recycle_after_s is not None:
            recycle = asyncio.create_task(self._recycle_later(self._ws, self.options.recycle_after_s))
        await self._send({**self.dialect.session_update(self.config), "event_id": SESSION_UPDATE_ID})
        try:
            async for raw in self._ws:
                if isinstance(raw, str):
                    await self._on_upstream(raw)
        except ConnectionClosed:
            pass
        finally:
            if recycle is not None:
                recycle.cancel()
        return "recycle" if self._recycle_requested else "closed"

    async def _recycle_later(self, ws: Any, seconds: float) -> None:
        """Close this upstream session after `seconds`, between answers, so a fresh one takes over."""
        await asyncio.sleep(seconds)
        await self._recycle(ws)

    async def _recycle(self, ws: Any) -> None:
        for _ in range(300):  # wait up to 30 s for the current answer to finish
            if self._active_response is None and not self._awaiting_response:
                break
            await asyncio.sleep(0.1)
        self._recycle_requested = True
        await ws.close()

    async def _prepare_reconnect(self) -> None:
        """Reset what belonged to the old upstream session and reload the conversation to replay."""
        self._keep_partial_turns()
        self._ready = False
        self._active_response = None
        self._awaiting_response = False
        self._response_wanted = False
        self._recycle_requested = False
        self._ws = None
        await self.recorder.drain()
        turns = await database_sync_to_async(selectors.conversation_history)(
            conversation_id=self.conversation_id, token_budget=self.options.history_tokens
        )
        self.history = [HistoryTurn(role, text) for role, text in turns]

    async def end(
        self,
        reason: str,
        *,
        error: str | None = None,
        error_message: str | None = None,
        close_code: int | None = None,
    ) -> None:
        """Finish the session once: tell the browser why, close upstream, store the end.

        Every caller returns only when the end is fully written, whoever started it.
        """
        if self._ended:
            await self._end_written.wait()
            return
        self._ended = True
        if error is not None:
            await self._to_browser(errors.error_event(error, error_message))
        current = asyncio.current_task()
        for task in (self._watchdog, self._reader, *self._timers):
            if task is not None and task is not current:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()
        self._keep_partial_turns()
        self.recorder.put(
            services.conversation_finish, conversation_id=self.conversation_id, end_reason=reason
        )
        await self.recorder.drain()
        log.info("Conversation %s ended: %s", self.conversation_id, reason)
        code = close_code if close_code is not None else _CLOSE_CODES.get(reason)
        if code is not None:
            try:
                await self.browser.close(code)
            except Exception:
                log.debug("Browser already closed for %s", self.conversation_id)
        # Last: a shutting-down worker waits for this write to know the session is fully over.
        if self.options.on_end is not None:
            self.recorder.put(self.options.on_end)
        await self.recorder.close()
        self._end_written.set()

    async def _watch_idle(self) -> None:
        while True:
            remaining = self._last_browser_activity + self.options.idle_timeout_s - time.monotonic()
            if remaining <= 0:
                await self.end(EndReason.IDLE_TIMEOUT, error="idle_timeout")
                return
            await asyncio.sleep(remaining)

    # --- Browser to upstream -----------------------------------------------------------------------

    async def on_browser_bytes(self, data: bytes) -> None:
        """A binary frame from the browser: PCM16 audio."""
        await self._on_command(bp.parse_binary(data))

    async def on_browser_text(self, data: str) -> None:
        """A JSON frame from the browser."""
        await self._on_command(bp.parse_text(data))

    async def _on_command(self, command: bp.Command) -> None:
        if self._ended:
            return
        # Not the loop's clock: asyncio.get_running_loop() costs a getpid() call, per frame here.
        self._last_browser_activity = time.monotonic()
        match command:
            case bp.Audio(pcm):
                await self._audio(pcm)
            case bp.Text(text):
                self._texts.append(text)
                await self._pump_texts()
            case bp.Interrupt(item_id, played_ms):
                await self._interrupt(item_id, played_ms)
            case bp.Ping():
                await self._to_browser({"type": "pong"})
            case bp.Stop():
                await self.end(EndReason.USER_STOPPED)
            case bp.Refused():
                await self._to_browser(command.event())

    async def _audio(self, pcm: bytes) -> None:
        if self._ready:
            await self._append(pcm)
            return
        if self._pending_bytes + len(pcm) > MAX_PENDING_AUDIO_BYTES:
            await self._to_browser(errors.error_event("audio_buffer_full"))
            return
        self._pending_audio.append(pcm)
        self._pending_bytes += len(pcm)

    async def _append(self, pcm: bytes) -> None:
        # Built by hand as UTF-8 bytes: one base64 pass, no JSON encoding of the audio, no str copy.
        # pybase64's SIMD codec encodes a frame in a twentieth of binascii's time.
        await self._send_raw(_APPEND_HEAD + pybase64.b64encode(pcm) + _APPEND_TAIL)

    async def _pump_texts(self) -> None:
        """Send the next typed turn once no response is active, so none is refused as concurrent."""
        if not self._ready or self._active_response or self._awaiting_response or not self._texts:
            return
        text = self._texts.popleft()
        await self._send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        await self._create_response()

    async def _create_response(self, extra: dict[str, Any] | None = None) -> None:
        self._awaiting_response = True
        self._response_wanted = False
        event: dict[str, Any] = {"type": "response.create", "event_id": self._event_id("response")}
        if extra:
            event["response"] = extra
        await self._send(event)

    async def _interrupt(self, item_id: str, played_ms: int) -> None:
        delivered = self._delivered.get(item_id)
        if delivered is None:
            await self._to_browser(errors.error_event("unknown_item", item_id=item_id))
            return
        if self._active_response is not None:
            await self._send({"type": "response.cancel", "event_id": self._harmless("cancel")})
        delivered_ms = delivered // bp.PCM_BYTES_PER_MS
        audio_end_ms = min(played_ms, delivered_ms)
        if delivered_ms > 0:
            await self._send(
                {
                    "type": "conversation.item.truncate",
                    "event_id": self._harmless("truncate"),
                    "item_id": item_id,
                    "content_index": 0,
                    "audio_end_ms": audio_end_ms,
                }
            )
        self._interrupted.add(item_id)
        self.recorder.put(
            services.message_interrupt,
            conversation_id=self.conversation_id,
            item_id=item_id,
            played_ms=audio_end_ms,
            audio_duration_ms=delivered_ms,
        )

    # --- Upstream to browser -----------------------------------------------------------------------

    async def _on_upstream(self, raw: str) -> None:
        try:
            event = self.dialect.parse(orjson.loads(raw))
        except ValueError:
            log.debug("Ignoring an upstream frame that is not JSON")
            return
        if event is not None:
            await _HANDLERS[type(event)](self, event)

    async def _session_created(self, e: ev.SessionCreated) -> None:
        if e.model:
            self.model = e.model
        self.recorder.put(
            services.conversation_set_upstream_session,
            conversation_id=self.conversation_id,
            session_id=e.session_id,
            model=e.model,
        )

    async def _session_updated(self, e: ev.SessionUpdated) -> None:
        if self._ready:
            return
        self._ready = True
        for turn in self.history:
            item_id = "item_" + secrets.token_hex(10)
            self._replayed_ids.add(item_id)
            await self._send(self.dialect.history_item(turn.role, turn.text, item_id))
        while self._pending_audio:
            await self._append(self._pending_audio.popleft())
        self._pending_bytes = 0
        await self._to_browser(
            {
                "type": "session.ready",
                "conversation_id": self.conversation_id,
                "resumed": bool(self.history),
                **self.provider.describe(),
            }
        )
        if self.options.greeting and not self.history and not self._greeted:
            self._greeted = True
            await self._create_response(
                {"instructions": f"{self.config.instructions}\n\n{self.options.greeting}"}
            )
        await self._pump_texts()

    async def _speech_started(self, e: ev.SpeechStarted) -> None:
        await self._to_browser({"type": "speech.started", "item_id": e.item_id})

    async def _speech_stopped(self, e: ev.SpeechStopped) -> None:
        await self._to_browser({"type": "speech.stopped", "item_id": e.item_id})

    async def _item_added(self, e: ev.ItemAdded) -> None:
        if e.item_id in self._replayed_ids:
            return
        if e.role == Message.Role.ASSISTANT:
            self._partial.setdefault(e.item_id, "")
        text_turn = e.kind == Message.Kind.TEXT and e.role == Message.Role.USER
        self.recorder.put(
            services.message_add,
            conversation_id=self.conversation_id,
            item_id=e.item_id,
            role=e.role,
            kind=e.kind,
            text=e.text,
            status=Message.Status.COMPLETED if text_turn else Message.Status.IN_PROGRESS,
        )

    async def _user_transcript(self, e: ev.UserTranscript) -> None:
        await self._to_browser({"type": "transcript.user", "item_id": e.item_id, "text": e.text})
        self.recorder.put(
            services.message_complete,
            conversation_id=self.conversation_id,
            item_id=e.item_id,
            role=Message.Role.USER,
            text=e.text,
        )
        if e.usage:
            self.recorder.put(
                services.usage_record,
                conversation_id=self.conversation_id,
                upstream_id=e.item_id,
                kind="transcription",
                usage=e.usage,
                status="completed",
                model=self.config.transcription_model,
            )

    async def _user_transcript_failed(self, e: ev.UserTranscriptFailed) -> None:
        self.recorder.put(
            services.message_transcription_failed,
            conversation_id=self.conversation_id,
            item_id=e.item_id,
            error_code=e.code,
        )
        await self._to_browser(errors.error_event("transcription_failed", item_id=e.item_id))

    async def _response_created(self, e: ev.ResponseCreated) -> None:
        self._active_response = e.response_id
        self._awaiting_response = False

    async def _audio_delta(self, e: ev.AudioDelta) -> None:
        try:
            # Lenient as binascii is (characters outside the alphabet are skipped), at SIMD speed.
            pcm = pybase64.b64decode(e.audio_b64)
        except ValueError:  # binascii.Error, or non-ASCII text
            return
        if e.item_id not in self._delivered:
            self._delivered[e.item_id] = 0
            await self._to_browser(
                {"type": "assistant.audio.start", "item_id": e.item_id, "response_id": e.response_id}
            )
        self._delivered[e.item_id] += len(pcm)
        await self.browser.send_bytes(pcm)

    async def _transcript_delta(self, e: ev.TranscriptDelta) -> None:
        self._partial[e.item_id] = self._partial.get(e.item_id, "") + e.delta
        await self._to_browser({"type": "transcript.assistant.delta", "item_id": e.item_id, "delta": e.delta})

    async def _transcript_done(self, e: ev.TranscriptDone) -> None:
        self._partial.pop(e.item_id, None)
        await self._to_browser({"type": "transcript.assistant.done", "item_id": e.item_id, "text": e.text})
        self._complete_assistant(e.item_id, e.text)

    async def _response_done(self, e: ev.ResponseDone) -> None:
        self._active_response = None
        for item_id in e.item_ids:
            if item_id in self._partial:
                self._complete_assistant(item_id, self._partial.pop(item_id))
        if e.usage is not None and e.response_id:
            self.recorder.put(
                services.usage_record,
                conversation_id=self.conversation_id,
                upstream_id=e.response_id,
                kind="response",
                usage=e.usage,
                status=e.status,
                model=self.model,
            )
        await self._to_browser(
            {
                "type": "response.done",
                "response_id": e.response_id,
                "status": e.status,
                "usage": e.usage or {},
            }
        )
        if self.options.budget_check is not None and e.usage:
            self._spawn(self._check_budget())
        if self._response_wanted:
            await self._create_response()
        else:
            await self._pump_texts()

    async def _item_truncated(self, e: ev.ItemTruncated) -> None:
        pass

    async def _upstream_error(self, e: ev.UpstreamError) -> None:
        if e.event_id in self._harmless_ids or e.code in errors.HARMLESS_CODES:
            log.debug("Absorbed harmless upstream error %s", e.code)
            return
        if e.code == "conversation_already_has_active_response" and (e.event_id or "").startswith("relay_"):
            self._awaiting_response = False
            self._response_wanted = True  # asked again when the active response is done
            return
        if e.code == "session_expired":
            # The provider's session cap, reached despite recycling: go on in a fresh session.
            self._recycle_requested = True
            if self._ws is not None:
                await self._ws.close()
            return
        if e.code in errors.FATAL_CODES:
            code, message, reason = errors.FATAL_CODES[e.code]
            await self.end(reason, error=code, error_message=message)
            return
        if e.event_id == SESSION_UPDATE_ID:
            log.error("Upstream refused the session update: %s (%s)", e.code, e.param)
            await self.end(EndReason.UPSTREAM_ERROR, error="upstream_rejected_session")
            return
        log.warning("Upstream error in conversation %s: %s", self.conversation_id, e.code)
        await self._to_browser(errors.upstream_error_event(e.code))

    # --- Helpers -----------------------------------------------------------------------------------

    def _complete_assistant(self, item_id: str, text: str) -> None:
        delivered = self._delivered.get(item_id)
        self.recorder.put(
            services.message_complete,
            conversation_id=self.conversation_id,
            item_id=item_id,
            role=Message.Role.ASSISTANT,
            text=text,
            audio_duration_ms=None if delivered is None else delivered // bp.PCM_BYTES_PER_MS,
        )

    def _keep_partial_turns(self) -> None:
        """Store answers cut off by the end, as far as they got and marked interrupted."""
        for item_id, text in self._partial.items():
            self._complete_assistant(item_id, text)
            if item_id not in self._interrupted:
                delivered_ms = self._delivered.get(item_id, 0) // bp.PCM_BYTES_PER_MS
                self.recorder.put(
                    services.message_interrupt,
                    conversation_id=self.conversation_id,
                    item_id=item_id,
                    played_ms=delivered_ms,
                    audio_duration_ms=delivered_ms,
                )
        self._partial.clear()

    def _event_id(self, kind: str) -> str:
        self._event_serial += 1
        return f"relay_{kind}_{self._event_serial}"

    def _harmless(self, kind: str) -> str:
        event_id = self._event_id(kind)
        self._harmless_ids.add(event_id)
        return event_id

    async def _send(self, event: dict[str, Any]) -> None:
        await self._send_raw(orjson.dumps(event))

    async def _send_raw(self, message: bytes) -> None:
        """Send one JSON event, given as UTF-8 bytes, in a text frame (the upstream takes no binary)."""
        if self._ws is None:
            return
        try:
            await self._ws.send(message, text=True)
        except ConnectionClosed:
            log.debug("Upstream already closed for %s", self.conversation_id)

    async def _to_browser(self, message: dict[str, Any]) -> None:
        try:
            await self.browser.send_json(message)
        except Exception:
            log.debug("Browser gone for %s", self.conversation_id)


_CLOSE_CODES: dict[str, int] = {
    EndReason.USER_STOPPED: errors.CLOSE_NORMAL,
    EndReason.IDLE_TIMEOUT: errors.CLOSE_IDLE,
    EndReason.AUTHENTICATION_FAILED: errors.CLOSE_UPSTREAM_FAILED,
    EndReason.UPSTREAM_ERROR: errors.CLOSE_UPSTREAM_FAILED,
    EndReason.UPSTREAM_CLOSED: errors.CLOSE_UPSTREAM_FAILED,
    EndReason.SESSION_EXPIRED: errors.CLOSE_UPSTREAM_FAILED,
    EndReason.ENDED_BY_ADMIN: errors.CLOSE_ENDED_BY_ADMIN,
    EndReason.SERVER_SHUTDOWN: errors.CLOSE_SERVER_RESTART,
}

_HANDLERS: dict[type, Any] = {
    ev.SessionCreated: RelaySession._session_created,
    ev.SessionUpdated: RelaySession._session_updated,
    ev.SpeechStarted: RelaySession._speech_started,
    ev.SpeechStopped: RelaySession._speech_stopped,
    ev.ItemAdded: RelaySession._item_added,
    ev.UserTranscript: RelaySession._user_transcript,
    ev.UserTranscriptFailed: RelaySession._user_transcript_failed,
    ev.ResponseCreated: RelaySession._response_created,
    ev.AudioDelta: RelaySession._audio_delta,
    ev.TranscriptDelta: RelaySession._transcript_delta,
    ev.TranscriptDone: RelaySession._transcript_done,
    ev.ResponseDone: RelaySession._response_done,
    ev.ItemTruncated: RelaySession._item_truncated,
    ev.UpstreamError: RelaySession._upstream_error,
}
