"""Login, logout, sign-up and the signed-in start page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from conversations import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password="correct horse battery")


def test_the_login_page_renders_a_form(client: Client) -> None:
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_logging_in_leads_home(client: Client, alice: Any) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})

    assert response.status_code == 302
    assert response.url == "/"


def test_a_wrong_password_is_refused_with_a_message(client: Client, alice: Any) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_the_start_page_needs_a_login(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_logging_out_takes_a_post_and_ends_the_session(client: Client, alice: Any) -> None:
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_up_is_off_unless_enabled(client: Client, settings: Any) -> None:
    settings.SIGNUP_ENABLED = False

    assert client.get("/accounts/signup/").status_code == 404
    assert b"Sign up" not in client.get("/accounts/login/").content


def test_sign_up_creates_an_account_and_logs_in(
    client: Client, settings: Any, django_user_model: Any
) -> None:
    settings.SIGNUP_ENABLED = True
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": "a long passphrase 42", "password2": "a long passphrase 42"},
    )

    assert response.status_code == 302
    assert django_user_model.objects.filter(username="carol").exists()
    assert client.get("/").status_code == 200


def test_sign_up_applies_the_password_validators(
    client: Client, settings: Any, django_user_model: Any
) -> None:
    settings.SIGNUP_ENABLED = True
    response = client.post(
        "/accounts/signup/", {"username": "dave", "password1": "12345", "password2": "12345"}
    )

    assert response.status_code == 200
    assert b"This password is too short" in response.content
    assert b"This password is entirely numeric" in response.content
    assert not django_user_model.objects.filter(username="dave").exists()


def test_the_start_page_lists_only_the_users_conversations_with_titles_escaped(
    client: Client, alice: Any, django_user_model: Any
) -> None:
    bob = django_user_model.objects.create_user(username="bob", password="x")
    mine = services.conversation_start(owner=alice, provider="simulator")
    services.conversation_rename(conversation=mine, title="<b>mine</b>")
    theirs = services.conversation_start(owner=bob, provider="simulator")
    services.conversation_rename(conversation=theirs, title="bob secret")
    client.force_login(alice)

    content = client.get("/").content.decode()

    assert "&lt;b&gt;mine&lt;/b&gt;" in content
    assert "<b>mine</b>" not in content
    assert "bob secret" not in content


def test_pages_show_the_simulator_banner_when_no_provider_is_configured(client: Client, alice: Any) -> None:
    client.force_login(alice)

    assert b"built-in simulator" in client.get("/").content
