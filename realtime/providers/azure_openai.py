"""Azure OpenAI realtime: the GA route, or the legacy preview route when an API version is set."""

from __future__ import annotations

from django.conf import settings

from realtime.dialects import DIALECTS
from realtime.providers.base import Provider, UpstreamTarget, with_query


class AzureOpenAIProvider(Provider):
    """GA: `/openai/v1/realtime?model=DEPLOYMENT` (never with api-version: Azure answers 401).
    Preview: `/openai/realtime?api-version=...&deployment=...`, beta event names (section 1b).
    Both authenticate with the `api-key` header."""

    name = "azure_openai"
    default_transcription_model = "whisper-1"

    def __init__(self, *, endpoint: str, api_key: str, deployment: str, api_version: str = "") -> None:
        super().__init__(model=deployment)
        self._endpoint = endpoint
        self._api_key = api_key
        self._api_version = api_version
        self.dialect = DIALECTS["beta" if api_version else "ga"]

    @classmethod
    def from_settings(cls) -> AzureOpenAIProvider:
        return cls(
            endpoint=settings.AZURE_OPENAI_ENDPOINT,
            api_key=settings.AZURE_OPENAI_API_KEY,
            deployment=settings.AZURE_OPENAI_DEPLOYMENT,
            api_version=settings.AZURE_OPENAI_API_VERSION,
        )

    async def target(self) -> UpstreamTarget:
        if self._api_version:
            url = with_query(
                self._endpoint,
                "/openai/realtime",
                {"api-version": self._api_version, "deployment": self.model},
            )
        else:
            url = with_query(self._endpoint, "/openai/v1/realtime", {"model": self.model})
        return UpstreamTarget(url=url, headers={"api-key": self._api_key})
