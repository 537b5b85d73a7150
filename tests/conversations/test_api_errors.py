"""One error body everywhere, never a stack trace, and limits on writes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from conversations import api_errors, selectors
from tests.factories import make_conversation, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _explode(**kwargs: Any) -> Any:
    raise RuntimeError("secret internal detail")


def test_an_unexpected_error_is_a_bare_500_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(selectors, "conversation_list", _explode)

    with caplog.at_level(logging.ERROR, logger="conversations.api_errors"):
        response = token_client(make_user()).get("/api/conversations/")

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side. Please try again later.",
            "fields": {},
        }
    }
    assert b"secret" not in response.content
    assert b"Traceback" not in response.content
    assert "secret internal detail" in caplog.text


def test_an_unknown_api_url_gets_the_error_body() -> None:
    response = APIClient().get("/api/nothing-here/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint.", "fields": {}}}


def test_an_unknown_page_keeps_the_html_404() -> None:
    response = Client().get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_failure_outside_a_view_under_api_gets_the_bare_body() -> None:
    api = api_errors.server_error(RequestFactory().get("/api/conversations/"))
    page = api_errors.server_error(RequestFactory().get("/history/"))

    assert api.status_code == page.status_code == 500
    assert api["Content-Type"] == "application/json"
    assert b'"code": "server_error"' in api.content
    assert page["Content-Type"].startswith("text/html")


def test_json_only_is_offered() -> None:
    response = token_client(make_user()).get("/api/conversations/", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"


def test_writes_are_limited_per_user_and_reads_are_not(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "write": "3/min"},
    }
    ann, bob = make_user(), make_user()
    api = token_client(ann)
    conversation = make_conversation(ann)
    url = f"/api/conversations/{conversation.pk}/"

    writes = [api.patch(url, {"title": f"t{n}"}, format="json").status_code for n in range(3)]
    limited = api.patch("/api/settings/", {"voice": "cedar"}, format="json")
    reads = [api.get(url).status_code for _ in range(5)]

    assert writes == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert limited.json()["error"]["message"].startswith("Request was throttled.")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert reads == [200] * 5
    assert token_client(bob).patch("/api/settings/", {"voice": "cedar"}, format="json").status_code == 200


def test_the_default_write_rate_is_sixty_a_minute() -> None:
    api = token_client(make_user())
    statuses = [api.patch("/api/settings/", {"voice": ""}, format="json").status_code for _ in range(61)]

    assert statuses == [200] * 60 + [429]
