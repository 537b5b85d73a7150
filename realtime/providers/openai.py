"""OpenAI Realtime, GA interface (realtime-protocol.md section 1a)."""

from __future__ import annotations

from django.conf import settings

from realtime.dialects import DIALECTS
from realtime.providers.base import Provider, UpstreamTarget, with_query


class OpenAIProvider(Provider):
    """`wss://api.openai.com/v1/realtime?model=...` with `Authorization: Bearer` and nothing else."""

    name = "openai"
    dialect = DIALECTS["ga"]

    def __init__(self, *, url: str, api_key: str, model: str) -> None:
        super().__init__(model=model)
        self._url = url
        self._api_key = api_key

    @classmethod
    def from_settings(cls) -> OpenAIProvider:
        return cls(
            url=settings.OPENAI_REALTIME_URL,
            api_key=settings.OPENAI_API_KEY,
            model=settings.OPENAI_REALTIME_MODEL,
        )

    async def target(self) -> UpstreamTarget:
        # No OpenAI-Beta header: it selects the beta shape, which OpenAI has shut down.
        return UpstreamTarget(
            url=with_query(self._url, "", {"model": self.model}),
            headers={"Authorization": f"Bearer {self._api_key}"},
        )
