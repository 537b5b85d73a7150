"""The URLs and credentials each provider connects with (realtime-protocol.md section 1)."""

from __future__ import annotations

from typing import Any

import pytest

from conversations.models import SessionSettings
from realtime.providers import get_provider
from realtime.providers.azure_openai import AzureOpenAIProvider
from realtime.providers.azure_voicelive import AzureVoiceLiveProvider
from realtime.providers.openai import OpenAIProvider
from realtime.providers.simulator import SimulatorProvider


async def test_openai_uses_the_ga_url_with_the_model_and_a_bearer_key_only() -> None:
    provider = OpenAIProvider(
        url="wss://api.openai.com/v1/realtime", api_key="sk-secret", model="gpt-realtime"
    )
    target = await provider.target()

    assert target.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert target.headers == {"Authorization": "Bearer sk-secret"}
    assert provider.dialect.name == "ga"


async def test_azure_openai_without_an_api_version_uses_the_ga_route_with_an_api_key_header() -> None:
    provider = AzureOpenAIProvider(
        endpoint="wss://res.openai.azure.com", api_key="az-key", deployment="my-rt"
    )
    target = await provider.target()

    assert target.url == "wss://res.openai.azure.com/openai/v1/realtime?model=my-rt"
    assert "api-version" not in target.url  # Azure answers 401 when the GA route carries one
    assert target.headers == {"api-key": "az-key"}
    assert provider.dialect.name == "ga"


async def test_azure_openai_with_an_api_version_uses_the_preview_route_and_beta_names() -> None:
    provider = AzureOpenAIProvider(
        endpoint="wss://res.openai.azure.com",
        api_key="az-key",
        deployment="my-rt",
        api_version="2025-04-01-preview",
    )
    target = await provider.target()

    assert (
        target.url
        == "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=my-rt"
    )
    assert provider.dialect.name == "beta"


async def test_voice_live_uses_its_route_version_and_model() -> None:
    provider = AzureVoiceLiveProvider(
        endpoint="wss://res.services.ai.azure.com",
        api_key="vl-key",
        model="gpt-realtime",
        api_version="2025-10-01",
    )
    target = await provider.target()

    assert (
        target.url
        == "wss://res.services.ai.azure.com/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime"
    )
    assert target.headers == {"api-key": "vl-key"}
    assert provider.dialect.name == "voicelive"


async def test_a_simulator_url_gets_the_ga_path() -> None:
    target = await SimulatorProvider(url="ws://127.0.0.1:8765").target()

    assert target.url == "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime"


def test_the_target_never_shows_its_credentials_or_query() -> None:
    from realtime.providers.base import UpstreamTarget

    target = UpstreamTarget(url="wss://h/openai/realtime?api-key=k&x=1", headers={"api-key": "k"})

    assert target.safe_url == "wss://h/openai/realtime"
    assert "k" not in repr(target).replace("openai", "").replace("realtime", "")


@pytest.mark.parametrize(
    ("env", "cls"),
    [
        ({"REALTIME_PROVIDER": "openai", "OPENAI_API_KEY": "sk"}, OpenAIProvider),
        (
            {
                "REALTIME_PROVIDER": "azure_openai",
                "AZURE_OPENAI_ENDPOINT": "wss://r",
                "AZURE_OPENAI_API_KEY": "k",
                "AZURE_OPENAI_DEPLOYMENT": "d",
            },
            AzureOpenAIProvider,
        ),
        ({"REALTIME_PROVIDER": "simulator"}, SimulatorProvider),
    ],
)
def test_the_configured_provider_is_built_from_settings(
    settings: Any, env: dict[str, str], cls: type
) -> None:
    for name, value in env.items():
        setattr(settings, name, value)

    assert isinstance(get_provider(), cls)


@pytest.mark.django_db
def test_voice_live_sends_azure_voices_as_objects_with_noise_suppression_and_echo_cancellation(
    django_user_model: Any,
) -> None:
    user = django_user_model.objects.create_user(username="u", password="x")
    user_settings = SessionSettings.objects.create(user=user, voice="en-US-Ava:DragonHDLatestNeural")
    provider = AzureVoiceLiveProvider(endpoint="wss://r", api_key="k", model="gpt-realtime", api_version="v")

    config = provider.session_config(user_settings)

    assert config.voice == {"name": "en-US-Ava:DragonHDLatestNeural", "type": "azure-standard"}
    assert config.noise_reduction == "azure_deep_noise_suppression"
    assert config.echo_cancellation is True
    assert config.transcription_model == "azure-speech"
    assert provider.accepts_voice("en-GB-SoniaNeural")
    assert not OpenAIProvider(url="wss://x", api_key="k", model="m").accepts_voice("en-GB-SoniaNeural")


@pytest.mark.django_db
def test_user_instructions_extend_the_server_instructions(
    django_user_model: Any, settings: Any, tmp_path: Any
) -> None:
    server_file = tmp_path / "instructions.md"
    server_file.write_text("Server rules.\n")
    settings.REALTIME_INSTRUCTIONS_FILE = server_file
    user = django_user_model.objects.create_user(username="u", password="x")
    user_settings = SessionSettings.objects.create(
        user=user, instructions="Call me Ann.", turn_detection="semantic_vad"
    )

    config = SimulatorProvider(url="ws://x").session_config(user_settings)

    assert config.instructions.startswith("Server rules.")
    assert config.instructions.endswith("## The user's own instructions\n\nCall me Ann.")
    assert config.turn_detection is not None
    assert (config.turn_detection.type, config.turn_detection.eagerness) == ("semantic_vad", "auto")
    assert config.transcription_model == "gpt-4o-mini-transcribe"  # transcription is always on
