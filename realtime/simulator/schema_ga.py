"""The GA session object: defaults, validation of session.update and response.create, merging (§2, §3)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ProtocolError
from .settings import DEFAULT_INSTRUCTIONS, Settings
from .validation import (
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

SESSION_TYPES = ("realtime", "transcription")
PCM_FORMAT = {"type": "audio/pcm", "rate": 24000}


def _modalities(value: Any, path: str) -> None:
    array(enum("text", "audio"))(value, path)
    # GA takes audio *or* text, never both (§2).
    if value not in (["audio"], ["text"]):
        raise ProtocolError(
            "invalid_value",
            f"Invalid modalities: {value}. Supported combinations are: ['text'] and ['audio'].",
            path,
        )


def _pcm_only(value: Any, path: str) -> None:
    # The wire allows G.711 too, but the simulator only speaks 24 kHz PCM16 (§7).
    if value.get("type") != "audio/pcm":
        raise ProtocolError(
            "invalid_value", "The simulator supports only 'audio/pcm' at 24000 Hz.", f"{path}.type"
        )


_FORMAT = tagged(
    {
        "audio/pcm": obj({"type": anything, "rate": integer(minimum=24000, maximum=24000)}),
        "audio/pcmu": obj({"type": anything}),
        "audio/pcma": obj({"type": anything}),
    }
)
_TURN_DETECTION = tagged(
    {
        "server_vad": obj(
            {
                "type": anything,
                "threshold": number(minimum=0.0, maximum=1.0),
                "prefix_padding_ms": integer(minimum=0),
                "silence_duration_ms": integer(minimum=0),
                "create_response": boolean(),
                "interrupt_response": boolean(),
                "idle_timeout_ms": integer(minimum=5000, maximum=30000, nullable=True),
            }
        ),
        "semantic_vad": obj(
            {
                "type": anything,
                "eagerness": enum("low", "medium", "high", "auto"),
                "create_response": boolean(),
                "interrupt_response": boolean(),
            }
        ),
    },
    nullable=True,
)
_INPUT = obj(
    {
        "format": _FORMAT,
        "transcription": obj(
            {"model": string(), "language": string(nullable=True), "prompt": string(nullable=True)},
            nullable=True,
        ),
        "noise_reduction": obj({"type": enum("near_field", "far_field")}, nullable=True),
        "turn_detection": _TURN_DETECTION,
    }
)
_OUTPUT = obj({"format": _FORMAT, "voice": string(), "speed": number(minimum=0.25, maximum=1.5)})
_SESSION = obj(
    {
        "type": anything,
        "model": string(),
        "instructions": string(),
        "output_modalities": _modalities,
        "tools": array(),
        "tool_choice": anything,
        "max_output_tokens": max_tokens,
        "tracing": anything,
        "truncation": anything,
        "prompt": anything,
        "audio": obj({"input": _INPUT, "output": _OUTPUT}),
        "include": array(enum("item.input_audio_transcription.logprobs"), nullable=True),
    }
)
_RESPONSE = obj(
    {
        "output_modalities": _modalities,
        "instructions": string(),
        "audio": obj({"output": obj({"format": _FORMAT, "voice": string()})}),
        "tools": array(),
        "tool_choice": anything,
        "max_output_tokens": max_tokens,
        "conversation": string(),
        "input": array(),
        "metadata": anything,
        "prompt": anything,
    }
)

_VAD_DEFAULTS = {
    # Defaults seen in a real session.created ([CAP], §3).
    "server_vad": {
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    },
    "semantic_vad": {"eagerness": "auto", "create_response": True, "interrupt_response": True},
}


def _normalized(key: str, value: Any) -> Any:
    """Fill the defaults upstream shows back in session.updated."""
    if value is None:
        return None
    if key == "turn_detection":
        return {"type": value["type"], **_VAD_DEFAULTS[value["type"]], **value}
    if key == "transcription":
        return {"model": value.get("model"), "language": None, "prompt": None, **value}
    if key == "format":
        return dict(PCM_FORMAT)
    return value


class GaSchema:
    """Session rules of the GA protocol (OpenAI and Azure /openai/v1)."""

    name = "ga"

    def default_session(self, *, model: str, session_id: str, expires_at: int) -> dict[str, Any]:
        """The session object of session.created ([CAP] shape)."""
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": model,
            "output_modalities": ["audio"],
            "instructions": DEFAULT_INSTRUCTIONS,
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "expires_at": expires_at,
            "audio": {
                "input": {
                    "format": dict(PCM_FORMAT),
                    "transcription": None,
                    "noise_reduction": None,
                    "turn_detection": {"type": "server_vad", **_VAD_DEFAULTS["server_vad"]},
                },
                "output": {"format": dict(PCM_FORMAT), "voice": "alloy", "speed": 1.0},
            },
            "include": None,
        }

    def apply_update(self, session: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        """Validate a session.update payload and return the merged session; raises on any problem."""
        self._check_type(update)
        _SESSION(update, "session")
        merged = copy.deepcopy(session)
        for key, value in update.items():
            if key == "audio":
                self._merge_audio(merged["audio"], value)
            elif key != "type":
                merged[key] = value
        return merged

    def _check_type(self, update: dict[str, Any]) -> None:
        # Without session.type the whole update is refused (§1a).
        if "type" not in update:
            raise ProtocolError(
                "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
            )
        enum(*SESSION_TYPES)(update["type"], "session.type")
        if update["type"] == "transcription":
            raise ProtocolError(
                "invalid_value",
                "Passing a transcription session update event to a realtime session is not allowed.",
                "session.type",
            )

    def _merge_audio(self, audio: dict[str, Any], update: dict[str, Any]) -> None:
        for side in ("input", "output"):
            for key, value in update.get(side, {}).items():
                if key == "format":
                    _pcm_only(value, f"session.audio.{side}.format")
                audio[side][key] = _normalized(key, value)

    def check_response(self, overrides: dict[str, Any]) -> None:
        """Validate the `response` object of response.create."""
        _RESPONSE(overrides, "response")
        fmt = overrides.get("audio", {}).get("output", {}).get("format")
        if fmt is not None:
            _pcm_only(fmt, "response.audio.output.format")

    def settings(self, session: dict[str, Any]) -> Settings:
        """Read the effective settings from a session object."""
        audio_in, audio_out = session["audio"]["input"], session["audio"]["output"]
        return Settings(
            instructions=session["instructions"],
            audio_output=session["output_modalities"] == ["audio"],
            voice=audio_out["voice"],
            turn_detection=audio_in["turn_detection"],
            transcription=audio_in["transcription"],
            output_format=audio_out["format"],
            max_output_tokens=session["max_output_tokens"],
        )

    def response_settings(self, base: Settings, overrides: dict[str, Any]) -> Settings:
        """Apply response.create overrides on top of the session's settings."""
        output = overrides.get("audio", {}).get("output", {})
        modalities = overrides.get("output_modalities")
        return Settings(
            instructions=overrides.get("instructions", base.instructions),
            audio_output=base.audio_output if modalities is None else modalities == ["audio"],
            voice=output.get("voice", base.voice),
            turn_detection=base.turn_detection,
            transcription=base.transcription,
            output_format=base.output_format,
            max_output_tokens=overrides.get("max_output_tokens", base.max_output_tokens),
        )

    def response_fields(self, settings: Settings) -> dict[str, Any]:
        """The dialect-specific fields of a response object (§3 response.created)."""
        return {
            "output_modalities": ["audio"] if settings.audio_output else ["text"],
            "max_output_tokens": settings.max_output_tokens,
            "audio": {"output": {"format": settings.output_format, "voice": settings.voice}},
        }
