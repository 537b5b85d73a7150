"""Health probes: /healthz answers while the process runs; /readyz checks the database and channel layer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from voiceproject import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_https(settings: Any) -> None:
    """Production settings: everything else redirects to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True


@pytest.mark.usefixtures("strict_https")
def test_healthz_answers_over_plain_http_without_login() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert Client().get("/accounts/login/").status_code == 301  # the exemption is only for probes


@pytest.mark.usefixtures("strict_https")
def test_readyz_is_ok_when_the_database_and_channel_layer_answer() -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}}


def test_probes_take_only_reads() -> None:
    assert Client().post("/healthz").status_code == 405
    assert Client().post("/readyz").status_code == 405


def test_readyz_is_503_when_the_channel_layer_is_unreachable(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "channel_layer": "failed"},
    }


def test_readyz_is_503_when_the_database_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, *args: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "failed", "channel_layer": "ok"},
    }


def test_a_check_that_hangs_fails_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.05)
    monkeypatch.setattr(health, "_check_channel_layer", never)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "failed"}
