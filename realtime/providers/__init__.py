"""Upstream providers, registered by name and imported only when selected."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from realtime.providers.base import Provider, UpstreamTarget

__all__ = ["PROVIDERS", "Provider", "UpstreamTarget", "get_provider"]

PROVIDERS: dict[str, str] = {
    "openai": "realtime.providers.openai.OpenAIProvider",
    "azure_openai": "realtime.providers.azure_openai.AzureOpenAIProvider",
    "azure_voicelive": "realtime.providers.azure_voicelive.AzureVoiceLiveProvider",
    "simulator": "realtime.providers.simulator.SimulatorProvider",
}


def get_provider(name: str | None = None) -> Provider:
    """The configured provider (or the one named), built from settings."""
    module_name, _, class_name = PROVIDERS[name or settings.REALTIME_PROVIDER].rpartition(".")
    return getattr(import_module(module_name), class_name).from_settings()
