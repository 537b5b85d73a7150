"""The flat beta-style session of Azure's preview route (§1b, §2, §3); Voice Live builds on it."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ProtocolError
from .settings import DEFAULT_INSTRUCTIONS, Settings
from .validation import (
    Validator,
    anything,
    array,
    boolean,
    enum,
    integer,
    max_tokens,
    number,
    obj,
    string,
    tagged,
)

OUTPUT_RATES = {"pcm16": 24000, "pcm16_16000hz": 16000, "pcm16_8000hz": 8000}


def _preview_modalities(value: Any, path: str) -> None:
    array(enum("text", "audio"))(value, path)
    # The preview route refuses audio-only output (§1b).
    if sorted(value) not in (["text"], ["audio", "text"]):
        raise ProtocolError(
            "invalid_value",
            f"Invalid modalities: {value}. Supported combinations are: ['text'] and ['audio', 'text'].",
            path,
        )


def pcm16_only(value: Any, path: str) -> None:
    # G.711 is valid on the wire, but the simulator only handles PCM16.
    if value not in OUTPUT_RATES:
        raise ProtocolError("invalid_value", "The simulator supports only PCM16 audio formats.", path)


VAD_COMMON: dict[str, Validator] = {
    "type": anything,
    "threshold": number(minimum=0.0, maximum=1.0),
    "prefix_padding_ms": integer(minimum=0),
    "silence_duration_ms": integer(minimum=0),
    "create_response": boolean(),
    "interrupt_response": boolean(),
}
SEMANTIC_VAD: dict[str, Validator] = {
    "type": anything,
    "eagerness": enum("low", "medium", "high", "auto"),
    "create_response": boolean(),
    "interrupt_response": boolean(),
}
_TRANSCRIPTION = {"model": string(), "language": string(nullable=True), "prompt": string(nullable=True)}
SHARED_FIELDS: dict[str, Validator] = {
    "model": string(),
    "instructions": string(),
    "input_audio_format": enum("pcm16", "g711_ulaw", "g711_alaw"),
    "tools": array(),
    "tool_choice": anything,
    "temperature": number(minimum=0.6, maximum=1.2),
    "max_response_output_tokens": max_tokens,
}
_RESPONSE = obj(
    {
        "modalities": array(enum("text", "audio")),
        "instructions": string(),
        "voice": anything,
        "output_audio_format": string(),
        "tools": array(),
        "tool_choice": anything,
        "temperature": number(minimum=0.6, maximum=1.2),
        "max_response_output_tokens": max_tokens,
        "conversation": string(),
        "input": array(),
        "metadata": anything,
    }
)


class PreviewSchema:
    """Session rules of Azure's legacy /openai/realtime route (beta names, flat session)."""

    name = "preview"

    def __init__(self) -> None:
        """Build the validator once per connection."""
        self._session = obj(self.fields())

    def fields(self) -> dict[str, Validator]:
        """Fields a session.update may carry."""
        return {
            **SHARED_FIELDS,
            "modalities": _preview_modalities,
            "voice": string(),
            "output_audio_format": enum("pcm16", "g711_ulaw", "g711_alaw"),
            "input_audio_transcription": obj(_TRANSCRIPTION, nullable=True),
            "turn_detection": tagged(
                {"server_vad": obj(VAD_COMMON), "semantic_vad": obj(SEMANTIC_VAD)}, nullable=True
            ),
            "input_audio_noise_reduction": obj({"type": enum("near_field", "far_field")}, nullable=True),
            "speed": number(minimum=0.25, maximum=1.5),
            "tracing": anything,
        }

    def vad_defaults(self, kind: str) -> dict[str, Any]:
        """Values upstream fills in for a turn_detection of this type."""
        if kind == "semantic_vad":
            return {"eagerness": "auto", "create_response": True, "interrupt_response": True}
        return {
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 200,
            "create_response": True,
            "interrupt_response": True,
        }

    def default_session(self, *, model: str, session_id: str, expires_at: int) -> dict[str, Any]:
        """The flat session object of session.created ([SDK-BETA], litellm#18969)."""
        return {
            "object": "realtime.session",
            "id": session_id,
            "model": model,
            "expires_at": expires_at,
            "modalities": ["audio", "text"],
            "instructions": DEFAULT_INSTRUCTIONS,
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": None,
            "turn_detection": {"type": "server_vad", **self.vad_defaults("server_vad")},
            "input_audio_noise_reduction": None,
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "speed": 1.0,
            "tracing": None,
        }

    def apply_update(self, session: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        """Validate a session.update payload and return the merged session; raises on any problem."""
        self._session(update, "session")
        for key in ("input_audio_format", "output_audio_format"):
            if key in update:
                pcm16_only(update[key], f"session.{key}")
        merged = copy.deepcopy(session)
        for key, value in update.items():
            merged[key] = self._normalized(key, value)
        return merged

    def _normalized(self, key: str, value: Any) -> Any:
        if key == "turn_detection" and value is not None:
            return {"type": value["type"], **self.vad_defaults(value["type"]), **value}
        return value

    def check_response(self, overrides: dict[str, Any]) -> None:
        """Validate the `response` object of response.create."""
        _RESPONSE(overrides, "response")
        if "output_audio_format" in overrides:
            pcm16_only(overrides["output_audio_format"], "response.output_audio_format")

    def settings(self, session: dict[str, Any]) -> Settings:
        """Read the effective settings from a session object."""
        return Settings(
            instructions=session["instructions"],
            audio_output="audio" in session["modalities"],
            voice=session["voice"],
            turn_detection=session["turn_detection"],
            transcription=session["input_audio_transcription"],
            input_rate=session.get("input_audio_sampling_rate", 24000),
            output_rate=OUTPUT_RATES[session["output_audio_format"]],
            output_format=session["output_audio_format"],
            max_output_tokens=session["max_response_output_tokens"],
            temperature=session["temperature"],
        )

    def response_settings(self, base: Settings, overrides: dict[str, Any]) -> Settings:
        """Apply response.create overrides on top of the session's settings."""
        modalities = overrides.get("modalities")
        fmt = overrides.get("output_audio_format", base.output_format)
        return Settings(
            instructions=overrides.get("instructions", base.instructions),
            audio_output=base.audio_output if modalities is None else "audio" in modalities,
            voice=overrides.get("voice", base.voice),
            turn_detection=base.turn_detection,
            transcription=base.transcription,
            input_rate=base.input_rate,
            output_rate=OUTPUT_RATES[fmt],
            output_format=fmt,
            max_output_tokens=overrides.get("max_response_output_tokens", base.max_output_tokens),
            temperature=overrides.get("temperature", base.temperature),
        )

    def response_fields(self, settings: Settings) -> dict[str, Any]:
        """The dialect-specific fields of a beta response object ([SDK-BETA] RealtimeResponse)."""
        return {
            "modalities": ["audio", "text"] if settings.audio_output else ["text"],
            "voice": settings.voice,
            "output_audio_format": settings.output_format,
            "temperature": settings.temperature,
            "max_output_tokens": settings.max_output_tokens,
        }
