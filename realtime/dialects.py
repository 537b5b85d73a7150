"""The one place that knows GA and beta wire shapes (realtime-protocol.md sections 2, 3 and 5).

A dialect translates upstream events into the relay's vocabulary (`realtime/events.py`) and renders
the client events whose shape differs between dialects. Unknown events and fields are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from realtime import events as ev
from realtime.session_config import SessionConfig, TurnDetectionConfig

Parser = Callable[[dict[str, Any]], ev.RelayEvent | None]
PCM_RATE = 24_000


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# --- Parsers shared by every dialect (field names are the same in GA and beta) ---------------------


def _session_created(e: dict[str, Any]) -> ev.SessionCreated:
    session = _dict(e.get("session"))
    return ev.SessionCreated(session_id=_str(session.get("id")), model=_str(session.get("model")))


def _speech_started(e: dict[str, Any]) -> ev.SpeechStarted:
    return ev.SpeechStarted(item_id=_str(e.get("item_id")), audio_start_ms=_int(e.get("audio_start_ms")))


def _speech_stopped(e: dict[str, Any]) -> ev.SpeechStopped:
    return ev.SpeechStopped(item_id=_str(e.get("item_id")), audio_end_ms=_int(e.get("audio_end_ms")))


def _item_added(e: dict[str, Any]) -> ev.ItemAdded | None:
    item = _dict(e.get("item"))
    role = item.get("role")
    if item.get("type") != "message" or role not in ("user", "assistant") or not _str(item.get("id")):
        return None  # function calls and system items are not turns
    content = [c for c in item.get("content") or [] if isinstance(c, dict)]
    kinds = {_str(c.get("type")) for c in content}
    text = "".join(
        _str(c.get("text")) for c in content if c.get("type") in ("input_text", "text", "output_text")
    )
    is_text = bool(kinds) and kinds <= {"input_text", "text", "output_text"}
    return ev.ItemAdded(
        item_id=item["id"],
        role=role,
        kind="text" if is_text else "audio",
        text=text,
        previous_item_id=e.get("previous_item_id") if isinstance(e.get("previous_item_id"), str) else None,
    )


def _transcription_completed(e: dict[str, Any]) -> ev.UserTranscript:
    usage = e.get("usage")
    return ev.UserTranscript(
        item_id=_str(e.get("item_id")),
        text=_str(e.get("transcript")),
        usage=usage if isinstance(usage, dict) else None,
    )


def _transcription_failed(e: dict[str, Any]) -> ev.UserTranscriptFailed:
    return ev.UserTranscriptFailed(
        item_id=_str(e.get("item_id")), code=_str(_dict(e.get("error")).get("code"))
    )


def _response_created(e: dict[str, Any]) -> ev.ResponseCreated:
    return ev.ResponseCreated(response_id=_str(_dict(e.get("response")).get("id")))


def _response_done(e: dict[str, Any]) -> ev.ResponseDone:
    response = _dict(e.get("response"))
    details = _dict(response.get("status_details"))
    usage = response.get("usage")
    outputs = [o for o in response.get("output") or [] if isinstance(o, dict)]
    return ev.ResponseDone(
        response_id=_str(response.get("id")),
        status=_str(response.get("status")),
        reason=_str(details.get("reason")),
        usage=usage if isinstance(usage, dict) else None,
        item_ids=tuple(_str(o.get("id")) for o in outputs if o.get("id")),
    )


def _audio_delta(e: dict[str, Any]) -> ev.AudioDelta:
    return ev.AudioDelta(
        response_id=_str(e.get("response_id")), item_id=_str(e.get("item_id")), audio_b64=_str(e.get("delta"))
    )


def _transcript_delta(e: dict[str, Any]) -> ev.TranscriptDelta:
    return ev.TranscriptDelta(
        response_id=_str(e.get("response_id")), item_id=_str(e.get("item_id")), delta=_str(e.get("delta"))
    )


def _transcript_done(e: dict[str, Any]) -> ev.TranscriptDone:
    # Audio transcripts end with "transcript", text output with "text".
    text = e.get("transcript") if isinstance(e.get("transcript"), str) else e.get("text")
    return ev.TranscriptDone(
        response_id=_str(e.get("response_id")), item_id=_str(e.get("item_id")), text=_str(text)
    )


def _truncated(e: dict[str, Any]) -> ev.ItemTruncated:
    return ev.ItemTruncated(item_id=_str(e.get("item_id")), audio_end_ms=_int(e.get("audio_end_ms")) or 0)


def _error(e: dict[str, Any]) -> ev.UpstreamError:
    error = _dict(e.get("error")) or e  # session_expired has been seen without the "error" wrapper
    return ev.UpstreamError(
        code=_str(error.get("code")),
        message=_str(error.get("message")),
        event_id=error.get("event_id") if isinstance(error.get("event_id"), str) else None,
        param=error.get("param") if isinstance(error.get("param"), str) else None,
    )


COMMON: dict[str, Parser] = {
    "session.created": _session_created,
    "session.updated": lambda e: ev.SessionUpdated(),
    "input_audio_buffer.speech_started": _speech_started,
    "input_audio_buffer.speech_stopped": _speech_stopped,
    "conversation.item.input_audio_transcription.completed": _transcription_completed,
    "conversation.item.input_audio_transcription.failed": _transcription_failed,
    "response.created": _response_created,
    "response.done": _response_done,
    "conversation.item.truncated": _truncated,
    "error": _error,
}

GA_NAMES: dict[str, Parser] = {
    **COMMON,
    # GA announces an item twice (added, then done); the first is its place in the order.
    "conversation.item.added": _item_added,
    "response.output_audio.delta": _audio_delta,
    "response.output_audio_transcript.delta": _transcript_delta,
    "response.output_audio_transcript.done": _transcript_done,
    "response.output_text.delta": _transcript_delta,
    "response.output_text.done": _transcript_done,
}

BETA_NAMES: dict[str, Parser] = {
    **COMMON,
    "conversation.item.created": _item_added,
    "response.audio.delta": _audio_delta,
    "response.audio_transcript.delta": _transcript_delta,
    "response.audio_transcript.done": _transcript_done,
    "response.text.delta": _transcript_delta,
    "response.text.done": _transcript_done,
}


class Dialect:
    """GA: OpenAI and Azure's GA route."""

    name = "ga"
    parsers: dict[str, Parser] = GA_NAMES
    assistant_text_type = "output_text"

    def parse(self, event: Any) -> ev.RelayEvent | None:
        """Translate one upstream event; None for anything the relay does not act on."""
        if not isinstance(event, dict):
            return None
        parser = self.parsers.get(event.get("type"))  # type: ignore[arg-type]
        return parser(event) if parser is not None else None

    def session_update(self, config: SessionConfig) -> dict[str, Any]:
        """A GA `session.update`: `session.type` is required and audio settings are nested."""
        pcm = {"type": "audio/pcm", "rate": PCM_RATE}
        audio_in: dict[str, Any] = {
            "format": pcm,
            "transcription": _transcription(config),
            "turn_detection": _turn_detection(config.turn_detection),
        }
        if config.noise_reduction in ("near_field", "far_field"):
            audio_in["noise_reduction"] = {"type": config.noise_reduction}
        session = {
            "type": "realtime",
            "instructions": config.instructions,
            "output_modalities": ["audio"],
            "max_output_tokens": config.max_output_tokens or "inf",
            "audio": {"input": audio_in, "output": {"format": pcm, "voice": config.voice}},
        }
        return {"type": "session.update", "session": session}

    def history_item(self, role: str, text: str, item_id: str) -> dict[str, Any]:
        """A `conversation.item.create` that replays a stored turn as text."""
        content_type = "input_text" if role == "user" else self.assistant_text_type
        return {
            "type": "conversation.item.create",
            "item": {
                "id": item_id,
                "type": "message",
                "role": role,
                "content": [{"type": content_type, "text": text}],
            },
        }


class BetaDialect(Dialect):
    """Beta names and a flat session: Azure OpenAI's legacy preview route."""

    name = "beta"
    parsers = BETA_NAMES
    assistant_text_type = "text"

    def session_update(self, config: SessionConfig) -> dict[str, Any]:
        session: dict[str, Any] = {
            # The preview route refuses audio-only modalities.
            "modalities": ["audio", "text"],
            "instructions": config.instructions,
            "voice": config.voice,
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": _transcription(config),
            "turn_detection": _turn_detection(config.turn_detection),
            "max_response_output_tokens": config.max_output_tokens or "inf",
        }
        if config.noise_reduction:
            session["input_audio_noise_reduction"] = {"type": config.noise_reduction}
        session.update(self.extra_session_fields(config))
        return {"type": "session.update", "session": session}

    def extra_session_fields(self, config: SessionConfig) -> dict[str, Any]:
        return {}


class VoiceLiveDialect(BetaDialect):
    """Azure Voice Live: beta names plus its own session fields (section 5)."""

    name = "voicelive"

    def extra_session_fields(self, config: SessionConfig) -> dict[str, Any]:
        fields: dict[str, Any] = {"input_audio_sampling_rate": PCM_RATE}
        if config.echo_cancellation:
            fields["input_audio_echo_cancellation"] = {"type": "server_echo_cancellation"}
        return fields


def _transcription(config: SessionConfig) -> dict[str, Any]:
    transcription: dict[str, Any] = {"model": config.transcription_model}
    if config.transcription_language:
        transcription["language"] = config.transcription_language
    return transcription


def _turn_detection(config: TurnDetectionConfig | None) -> dict[str, Any] | None:
    if config is None:
        return None  # push to talk: the relay commits and asks for responses itself
    rendered: dict[str, Any] = {
        "type": config.type,
        "create_response": config.create_response,
        "interrupt_response": config.interrupt_response,
    }
    for name in ("threshold", "prefix_padding_ms", "silence_duration_ms", "eagerness"):
        value = getattr(config, name)
        if value is not None:
            rendered[name] = value
    return rendered


DIALECTS: dict[str, Dialect] = {"ga": Dialect(), "beta": BetaDialect(), "voicelive": VoiceLiveDialect()}
