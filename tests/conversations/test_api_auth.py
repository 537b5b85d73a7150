"""API authentication: tokens for a password, session with CSRF, and refusals with the error body."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, make_conversation, make_user, token_client

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"
ANY_ID = uuid.uuid4()

# Every endpoint that needs a signed-in caller, with a method and a body it accepts.
PROTECTED = [
    ("get", "/api/conversations/", None),
    ("get", f"/api/conversations/{ANY_ID}/", None),
    ("patch", f"/api/conversations/{ANY_ID}/", {"title": "x"}),
    ("delete", f"/api/conversations/{ANY_ID}/", None),
    ("get", f"/api/conversations/{ANY_ID}/export/", None),
    ("get", "/api/settings/", None),
    ("put", "/api/settings/", {"voice": ""}),
    ("patch", "/api/settings/", {"voice": ""}),
    ("get", "/api/settings/options/", None),
    ("get", "/api/usage/", None),
]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def test_a_username_and_password_give_a_token_that_authenticates() -> None:
    user = make_user("ann")
    client = APIClient()

    response = client.post(TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/conversations/").status_code == 200
    assert user.auth_token.key == token


def test_a_form_post_gets_the_same_token_again() -> None:
    make_user("ann")
    client = APIClient()
    first = client.post(TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}).json()["token"]
    second = client.post(TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}).json()["token"]

    assert first == second


@pytest.mark.parametrize(
    "credentials",
    [{"username": "ann", "password": "wrong"}, {"username": "nobody", "password": TEST_PASSWORD}],
)
def test_wrong_credentials_get_no_token(credentials: dict[str, str]) -> None:
    make_user("ann")

    response = APIClient().post(TOKEN_URL, credentials, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "Unable to log in with provided credentials.",
            "fields": {},
        }
    }


def test_an_inactive_user_gets_no_token() -> None:
    make_user("ann", is_active=False)

    response = APIClient().post(TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}, format="json")

    assert response.status_code == 400


def test_missing_credentials_are_named() -> None:
    response = APIClient().post(TOKEN_URL, {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "username": "This field is required.",
        "password": "This field is required.",
    }


def test_credentials_must_be_strings() -> None:
    make_user("ann", password="12345678")

    response = APIClient().post(TOKEN_URL, {"username": "ann", "password": 12345678}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"password": "Must be a string."}


def test_malformed_json_is_a_parse_error() -> None:
    response = APIClient().post(TOKEN_URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_token_requests_are_limited_per_address(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"},
    }
    make_user("ann")
    client = APIClient()
    wrong = {"username": "ann", "password": "guess"}
    statuses = [client.post(TOKEN_URL, wrong, format="json").status_code for _ in range(3)]

    limited = client.post(TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}, format="json")
    elsewhere = client.post(
        TOKEN_URL, {"username": "ann", "password": TEST_PASSWORD}, format="json", REMOTE_ADDR="10.0.0.2"
    )

    assert statuses == [400, 400, 400]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert elsewhere.status_code == 200


def test_a_forged_forwarded_for_header_does_not_dodge_the_limit(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "2/min"},
    }
    client = APIClient()
    wrong = {"username": "ann", "password": "guess"}
    statuses = [
        client.post(TOKEN_URL, wrong, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]

    assert statuses == [400, 400, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "NUM_PROXIES": 1,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "1/min"},
    }
    client = APIClient()
    wrong = {"username": "ann", "password": "guess"}

    first = client.post(TOKEN_URL, wrong, format="json", HTTP_X_FORWARDED_FOR="203.0.113.1")
    again = client.post(TOKEN_URL, wrong, format="json", HTTP_X_FORWARDED_FOR="203.0.113.1")
    other = client.post(TOKEN_URL, wrong, format="json", HTTP_X_FORWARDED_FOR="forged, 203.0.113.2")

    assert (first.status_code, again.status_code, other.status_code) == (400, 429, 400)


def test_the_default_token_rate_is_ten_a_minute() -> None:
    make_user("ann")
    client = APIClient()
    statuses = [
        client.post(TOKEN_URL, {"username": "ann", "password": "x"}, format="json").status_code
        for _ in range(11)
    ]

    assert statuses == [400] * 10 + [429]


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
def test_anonymous_callers_get_401_with_the_error_body(method: str, url: str, body: Any) -> None:
    response = getattr(APIClient(), method)(url, body, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
def test_a_wrong_token_gets_401(method: str, url: str, body: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_browser_session_reads_the_api() -> None:
    user = make_user()
    make_conversation(user, title="Rome")
    client = Client()
    client.force_login(user)

    response = client.get("/api/conversations/")

    assert response.status_code == 200
    assert [c["title"] for c in response.json()["results"]] == ["Rome"]


def test_a_browser_session_must_send_the_csrf_token_to_write() -> None:
    user = make_user()
    conversation = make_conversation(user, title="Rome")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = f"/api/conversations/{conversation.pk}/"

    refused = client.patch(url, {"title": "Paris"}, content_type="application/json")
    client.get("/")  # any page with a form (here: log out) sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(url, {"title": "Paris"}, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in refused.json()["error"]["message"]
    assert accepted.status_code == 200
    assert accepted.json()["title"] == "Paris"


def test_a_token_caller_needs_no_csrf_token() -> None:
    user = make_user()
    conversation = make_conversation(user)
    client = token_client(user)
    client.handler.enforce_csrf_checks = True

    response = client.patch(f"/api/conversations/{conversation.pk}/", {"title": "Paris"}, format="json")

    assert response.status_code == 200
