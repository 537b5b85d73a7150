"""Azure AI Voice Live: beta-style events and its own session fields (realtime-protocol.md section 5)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.conf import settings

from conversations.models import SessionSettings
from realtime.dialects import DIALECTS
from realtime.providers.base import OPENAI_VOICES, Provider, UpstreamTarget, with_query
from realtime.session_config import SessionConfig

AZURE_VOICES = (
    "en-US-Ava:DragonHDLatestNeural",
    "en-US-Andrew:DragonHDLatestNeural",
    "en-US-Emma:DragonHDLatestNeural",
    "en-US-Brian:DragonHDLatestNeural",
    "en-US-AvaMultilingualNeural",
    "en-US-AndrewMultilingualNeural",
    "de-DE-SeraphinaMultilingualNeural",
    "fr-FR-VivienneMultilingualNeural",
)


def is_azure_voice(voice: str) -> bool:
    """Azure neural voice names look like `en-US-Ava:DragonHDLatestNeural`; OpenAI's are one word."""
    return "-" in voice and "Neural" in voice


class AzureVoiceLiveProvider(Provider):
    """`/voice-live/realtime?api-version=...&model=...` with the `api-key` header."""

    name = "azure_voicelive"
    dialect = DIALECTS["voicelive"]
    voices = AZURE_VOICES + OPENAI_VOICES
    default_voice = "en-US-Ava:DragonHDLatestNeural"
    default_transcription_model = "azure-speech"
    turn_detection_types = (
        "server_vad",
        "semantic_vad",
        "azure_semantic_vad",
        "azure_semantic_vad_en",
        "azure_semantic_vad_multilingual",
        "none",
    )
    transcription_models = (
        "azure-speech",
        "mai-transcribe",
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-transcribe-diarize",
    )
    noise_reductions = ("azure_deep_noise_suppression", "near_field", "far_field")
    option_names = ("noise_reduction", "echo_cancellation")

    def __init__(self, *, endpoint: str, api_key: str, model: str, api_version: str) -> None:
        super().__init__(model=model)
        self._endpoint = endpoint
        self._api_key = api_key
        self._api_version = api_version

    @classmethod
    def from_settings(cls) -> AzureVoiceLiveProvider:
        return cls(
            endpoint=settings.AZURE_VOICELIVE_ENDPOINT,
            api_key=settings.AZURE_VOICELIVE_API_KEY,
            model=settings.AZURE_VOICELIVE_MODEL,
            api_version=settings.AZURE_VOICELIVE_API_VERSION,
        )

    async def target(self) -> UpstreamTarget:
        url = with_query(
            self._endpoint, "/voice-live/realtime", {"api-version": self._api_version, "model": self.model}
        )
        return UpstreamTarget(url=url, headers={"api-key": self._api_key})

    def accepts_voice(self, voice: str) -> bool:
        # Any Azure neural voice name is allowed, not only the listed suggestions.
        return voice in OPENAI_VOICES or is_azure_voice(voice)

    def session_config(self, user_settings: SessionSettings) -> SessionConfig:
        """Azure voices as objects; deep noise suppression and server echo cancellation by default."""
        config = super().session_config(user_settings)
        options = user_settings.provider_options or {}
        voice: str | dict[str, Any] = config.voice
        if isinstance(voice, str) and is_azure_voice(voice):
            voice = {"name": voice, "type": "azure-standard"}
        return replace(
            config,
            voice=voice,
            noise_reduction=str(options.get("noise_reduction", "azure_deep_noise_suppression")),
            echo_cancellation=bool(options.get("echo_cancellation", True)),
        )
