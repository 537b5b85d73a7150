"""The OpenAPI schema: valid, complete, served with its docs page, and true to the running API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conversations import services
from conversations.api_docs import api_schema
from tests.factories import GPT_REALTIME_USAGE, add_turn, make_conversation, make_user

pytestmark = pytest.mark.django_db

PUBLIC_OPERATIONS = {"auth_token_create"}
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: RESPONSE_CHECKS,
    GenerationMode.NEGATIVE: [*RESPONSE_CHECKS, negative_data_rejection],
}


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in api_schema()["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_the_schema_validates_without_warnings(tmp_path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/conversations/{id}/export/" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_is_served_without_login() -> None:
    yaml = APIClient().get("/api/schema/")
    json = APIClient().get("/api/schema/", {"format": "json"})

    assert yaml.status_code == json.status_code == 200
    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert json.json()["openapi"].startswith("3.")


def test_every_endpoint_is_in_the_schema() -> None:
    documented = {(method.upper(), path) for path, method, _ in _operations()}

    assert documented == {
        ("POST", "/api/auth/token/"),
        ("GET", "/api/conversations/"),
        ("GET", "/api/conversations/{id}/"),
        ("PATCH", "/api/conversations/{id}/"),
        ("DELETE", "/api/conversations/{id}/"),
        ("GET", "/api/conversations/{id}/export/"),
        ("GET", "/api/settings/"),
        ("PUT", "/api/settings/"),
        ("PATCH", "/api/settings/"),
        ("GET", "/api/settings/options/"),
        ("GET", "/api/usage/"),
        ("GET", "/api/sessions/"),
        ("POST", "/api/sessions/{id}/end/"),
    }


@pytest.mark.parametrize(
    ("path", "method", "op"), _operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_operation_documents_its_errors(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op["responses"]
    errors = {status: r for status, r in responses.items() if not status.startswith("2")}

    assert op.get("summary")
    assert any(status.startswith("2") for status in responses)
    for response in errors.values():
        assert response["description"]
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    if op["operationId"] not in PUBLIC_OPERATIONS:
        assert "401" in errors
    if "{id}" in path:
        assert "404" in errors
    if (
        op.get("parameters", []) and any(p["in"] == "query" for p in op["parameters"])
    ) or "requestBody" in op:
        assert "400" in errors
    if method in {"put", "patch", "delete", "post"}:
        assert "429" in errors
    for parameter in op.get("parameters", []):
        assert parameter["schema"], parameter["name"]


def test_the_token_endpoint_needs_no_authentication() -> None:
    op = api_schema()["paths"]["/api/auth/token/"]["post"]

    assert op.get("security") in (None, [], [{}])


def test_the_docs_page_shows_every_operation_offline() -> None:
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    for path, method, op in _operations():
        assert f"{method.upper()} {path}" in page
        assert f'id="op-{op["operationId"]}"' in page
    assert 'id="schema-Error"' in page
    assert page.count("No authentication needed.") == 1  # only the token endpoint
    assert "<code>Authorization: Token &lt;token&gt;</code>" in page
    assert 'href="/api/schema/"' in page
    # Nothing is loaded from elsewhere: no scripts at all, styles only from our own static files.
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


# --- Schemathesis: generated requests against the app's own schema --------------------------------


@pytest.fixture
def generous_limits(settings: Any) -> None:
    """Generated cases write a lot; the write limit has tests of its own."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "10000/min", "write": "10000/min"},
    }


@pytest.fixture(scope="module")
def app_schema() -> Iterator[Any]:
    """The schema, loaded from the app, which schemathesis then calls as a WSGI application."""
    # Like Django's test client: a request must not close the test's connection (and transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _generated_runs() -> list[Any]:
    """Every operation with valid data; and with invalid data where it takes parameters or a body."""
    runs = []
    for path, method, op in _operations():
        label = f"{method.upper()} {path}"
        runs.append(pytest.param(path, method, GenerationMode.POSITIVE, id=f"{label} positive"))
        if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
            runs.append(pytest.param(path, method, GenerationMode.NEGATIVE, id=f"{label} negative"))
    return runs


@pytest.mark.usefixtures("generous_limits")
@pytest.mark.parametrize(("path", "method", "mode"), _generated_runs())
def test_generated_requests_get_no_server_error_and_match_the_schema(
    app_schema: Any, path: str, method: str, mode: GenerationMode
) -> None:
    owner = make_user("owner")
    conversation = make_conversation(
        owner, turns=[("user", "Tell me <b>a</b> story *now*")], usage=[GPT_REALTIME_USAGE]
    )
    add_turn(conversation, "assistant", "Once upon a time", audio_ms=2000, interrupted_at_ms=500)
    token = {"Authorization": f"Token {services.api_token_for(user=owner)}"}
    # Detail operations get the owner's real conversation: random ids would only ever find nothing.
    real_id = {"id": str(conversation.pk)} if "{id}" in path else None
    strategy = app_schema[path][method.upper()].as_strategy(mode, path_parameters=real_id)

    @given(case=strategy)
    @settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=token, checks=CHECKS[mode])

    call()
