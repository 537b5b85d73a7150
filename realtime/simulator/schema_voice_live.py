"""Azure Voice Live's session: the beta shape plus Azure's extra fields (§5)."""

from __future__ import annotations

from typing import Any

from .errors import ProtocolError
from .schema_beta import OUTPUT_RATES, SEMANTIC_VAD, SHARED_FIELDS, VAD_COMMON, PreviewSchema
from .validation import (
    Validator,
    anything,
    array,
    boolean,
    enum,
    integer,
    number,
    obj,
    string,
    string_or,
    tagged,
)

_AZURE_VAD: dict[str, Validator] = {
    **VAD_COMMON,
    "speech_duration_ms": integer(minimum=0),
    "remove_filler_words": boolean(),
    "languages": array(string()),
    "end_of_utterance_detection": anything,
    "auto_truncate": boolean(),
}
_AZURE_VAD_TYPES = ("azure_semantic_vad", "azure_semantic_vad_en", "azure_semantic_vad_multilingual")
_AZURE_VOICE_COMMON: dict[str, Validator] = {
    "type": anything,
    "name": string(),
    "temperature": number(minimum=0.0, maximum=1.0),
    "rate": string(),
    "locale": string(),
    "style": string(),
    "pitch": string(),
    "volume": string(),
    "custom_lexicon_url": string(),
    "prefer_locales": array(string()),
}
_VOICE = string_or(
    tagged(
        {
            "openai": obj({"type": anything, "name": string()}, required=("name",)),
            "azure-standard": obj(_AZURE_VOICE_COMMON, required=("name",)),
            "azure-custom": obj({**_AZURE_VOICE_COMMON, "endpoint_id": string()}, required=("name",)),
            "azure-personal": obj({**_AZURE_VOICE_COMMON, "model": string()}, required=("name",)),
            "azure-realtime-native": obj({"type": anything, "name": string()}, required=("name",)),
        }
    )
)
_TRANSCRIPTION_MODELS = (
    "azure-speech",
    "mai-transcribe",
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe-diarize",
)


class VoiceLiveSchema(PreviewSchema):
    """Session rules of Azure Voice Live: beta shape plus Azure's extra fields (§5)."""

    name = "voice-live"

    def __init__(self, api_version: str) -> None:
        """Prefix padding defaults changed with api-version 2026-04-10 (§5)."""
        self._newer = api_version[:10] >= "2026-04-10"
        super().__init__()

    def fields(self) -> dict[str, Validator]:
        """Fields a Voice Live session.update may carry."""
        variants = {
            "server_vad": obj(_AZURE_VAD),
            "semantic_vad": obj(SEMANTIC_VAD),
            **{kind: obj(_AZURE_VAD) for kind in _AZURE_VAD_TYPES},
        }
        return {
            **SHARED_FIELDS,
            "modalities": array(enum("text", "audio", "animation", "avatar")),
            "voice": _VOICE,
            "output_audio_format": enum(*OUTPUT_RATES, "g711_ulaw", "g711_alaw"),
            "input_audio_sampling_rate": self._sampling_rate,
            "input_audio_transcription": obj(
                {
                    "model": enum(*_TRANSCRIPTION_MODELS),
                    "language": string(nullable=True),
                    "prompt": string(nullable=True),
                    "phrase_list": array(string()),
                    "custom_speech": anything,
                },
                nullable=True,
            ),
            "turn_detection": tagged(variants, nullable=True),
            "input_audio_noise_reduction": obj(
                {"type": enum("azure_deep_noise_suppression", "near_field", "far_field")}, nullable=True
            ),
            "input_audio_echo_cancellation": obj({"type": enum("server_echo_cancellation")}, nullable=True),
            "avatar": anything,
            "animation": anything,
            "output_audio_timestamp_types": array(enum("word")),
            "reasoning_effort": enum("minimal", "low", "medium", "high"),
            "interim_response": anything,
            "metadata": anything,
        }

    @staticmethod
    def _sampling_rate(value: Any, path: str) -> None:
        integer()(value, path)
        if value not in (8000, 16000, 24000):
            raise ProtocolError(
                "invalid_value",
                f"Invalid value: '{value}'. Supported values are: '8000', '16000', and '24000'.",
                path,
            )

    def vad_defaults(self, kind: str) -> dict[str, Any]:
        """Voice Live's defaults: 500 ms silence; prefix padding depends on the api-version (§5)."""
        if kind == "semantic_vad":
            return super().vad_defaults(kind)
        padding = (420 if kind in _AZURE_VAD_TYPES else 400) if self._newer else 300
        return {
            "threshold": 0.5,
            "prefix_padding_ms": padding,
            "silence_duration_ms": 500,
            "create_response": True,
            "interrupt_response": True,
            "auto_truncate": False,
        }

    def default_session(self, *, model: str, session_id: str, expires_at: int) -> dict[str, Any]:
        """A flat session with Voice Live's extra fields; the exact default set is not documented."""
        return {
            "object": "realtime.session",
            "id": session_id,
            "model": model,
            "expires_at": expires_at,
            "modalities": ["text", "audio"],
            "instructions": "",
            "voice": {"name": "en-US-Ava:DragonHDLatestNeural", "type": "azure-standard"},
            "input_audio_format": "pcm16",
            "input_audio_sampling_rate": 24000,
            "output_audio_format": "pcm16",
            "input_audio_transcription": None,
            "input_audio_noise_reduction": None,
            "input_audio_echo_cancellation": None,
            "turn_detection": {"type": "server_vad", **self.vad_defaults("server_vad")},
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "avatar": None,
            "animation": None,
        }
