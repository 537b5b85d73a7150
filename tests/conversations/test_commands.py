"""Management commands of the conversations app."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def _run(command: str) -> str:
    out = io.StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_without_demo_user_it_says_how_to_create_a_first_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_USER", raising=False)

    assert "manage.py createsuperuser" in _run("demo_user")


def test_demo_user_creates_a_user_who_can_log_in(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    monkeypatch.setenv("DEMO_USER", "demo:talk to me 2026")

    assert "Demo user 'demo' is ready" in _run("demo_user")
    assert client.login(username="demo", password="talk to me 2026")


def test_demo_user_refuses_a_malformed_value_or_weak_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_USER", "demo")
    with pytest.raises(CommandError, match="username:password"):
        _run("demo_user")
    monkeypatch.setenv("DEMO_USER", "demo:123")
    with pytest.raises(CommandError, match="too weak"):
        _run("demo_user")
