"""Which upstream a handshake is for: path routing, query parsing and credentials (§1)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers

from .config import SimulatorConfig
from .dialect import Dialect

PATHS = {
    "/v1/realtime": "openai",
    "/openai/v1/realtime": "azure-ga",
    "/openai/realtime": "azure-preview",
    "/voice-live/realtime": "voice-live",
}
_AZURE_401 = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API endpoint "
        "for your resource.",
    }
}


@dataclass(frozen=True)
class Rejection:
    """An HTTP answer instead of the upgrade."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Route:
    """An accepted handshake: which service to imitate and what the client asked for."""

    kind: str
    model: str | None
    api_version: str | None = None
    beta_header: bool = False
    auth_problem: str | None = None  # "missing" or "invalid", reported after the upgrade

    def dialect(self) -> Dialect:
        """The wire dialect this route speaks."""
        if self.kind == "azure-preview":
            return Dialect.preview()
        if self.kind == "voice-live":
            return Dialect.voice_live(self.api_version or "")
        return Dialect.ga()


def _openai_401(problem: str) -> dict[str, Any]:
    if problem == "missing":
        message, code = "Missing bearer or basic authentication in header", None
    else:
        message, code = "Incorrect API key provided.", "invalid_api_key"
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def _credential(kind: str, headers: Headers, query: dict[str, str]) -> str | None:
    authorization = headers.get("Authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    if kind == "openai":
        return bearer
    # Azure takes an api-key header, an api-key query parameter (browsers) or a Bearer token.
    return headers.get("api-key") or query.get("api-key") or bearer


def _auth_problem(key: str | None, config: SimulatorConfig) -> str | None:
    if config.refuse_auth:
        return "invalid"
    if not key:
        return "missing"
    if config.api_key is not None and not hmac.compare_digest(key.encode(), config.api_key.encode()):
        return "invalid"
    return None


def _beta_header(headers: Headers) -> bool:
    values = ",".join(headers.get_all("OpenAI-Beta"))
    return "realtime=v1" in (value.strip() for value in values.split(","))


def resolve(path: str, headers: Headers, config: SimulatorConfig) -> Route | Rejection:
    """Route a handshake request or say how to refuse it."""
    parts = urlsplit(path)
    kind = PATHS.get(parts.path.rstrip("/"))
    if kind is None:
        return Rejection(404, {"error": {"code": "404", "message": "Resource not found"}})
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    problem = _auth_problem(_credential(kind, headers, query), config)
    if problem and kind == "openai" and config.auth_error_after_upgrade and not config.refuse_auth:
        return Route(kind, query.get("model"), auth_problem=problem)
    if problem:
        return Rejection(401, _openai_401(problem) if kind == "openai" else _AZURE_401)
    if kind == "azure-ga" and "api-version" in query:
        # The GA route refuses api-version with a 401 (Microsoft's troubleshooting, §1b).
        return Rejection(401, _AZURE_401)
    if kind in ("openai", "azure-ga"):
        return Route(kind, query.get("model"), beta_header=kind == "openai" and _beta_header(headers))
    return _azure_legacy(kind, query)


def _azure_legacy(kind: str, query: dict[str, str]) -> Route | Rejection:
    version = query.get("api-version")
    if kind == "azure-preview":
        model = query.get("deployment")
    else:
        # Voice Live agents name an agent instead of a model (§1c).
        model = query.get("model") or query.get("agent-name")
    if not version or not model:
        wanted = "api-version and deployment" if kind == "azure-preview" else "api-version and model"
        message = f"The query must carry {wanted}."
        return Rejection(400, {"error": {"code": "BadRequest", "message": message}})
    return Route(kind, model, api_version=version)


def example_urls(base_url: str) -> dict[str, str]:
    """One working URL per route, for humans starting the simulator."""
    return {
        "OpenAI GA": f"{base_url}/v1/realtime?model=gpt-realtime",
        "Azure OpenAI GA": f"{base_url}/openai/v1/realtime?model=gpt-realtime",
        "Azure OpenAI preview": f"{base_url}/openai/realtime?api-version=2025-04-01-preview"
        "&deployment=gpt-4o-realtime-preview",
        "Azure Voice Live": f"{base_url}/voice-live/realtime?api-version=2025-10-01&model=gpt-realtime",
    }
