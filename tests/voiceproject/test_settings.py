"""Configuration from the environment: defaults, channel layer choice, one-line start-up errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from voiceproject.env import env_bool, env_endpoint, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k3v9-Xq2!zP7rT5wL0mN8bC4dF6gH1jK3sA9eR2tY7uI0oP5lZ",
    "ALLOWED_HOSTS": "voice.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://voice.example.com",
}
# Variables the test environment sets that these subprocess runs must not inherit.
_CLEARED = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "REALTIME_PROVIDER",
    "OPENAI_API_KEY",
    "REDIS_URL",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
)


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    base["ENV_FILE"] = os.devnull
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def _settings_value(expression: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    result = _run(["-c", code], DJANGO_SETTINGS_MODULE="voiceproject.settings", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "Configuration error: SECRET_KEY must be set when DEBUG is off."),
        ({"DEBUG": "maybe"}, "Configuration error: DEBUG must be one of 1/0, true/false, yes/no, on/off"),
        (
            {**PRODUCTION_ENV, "REALTIME_PROVIDER": "acme"},
            "Configuration error: REALTIME_PROVIDER must be one of",
        ),
        (
            {**PRODUCTION_ENV, "REALTIME_PROVIDER": "openai"},
            "Configuration error: OPENAI_API_KEY must be set when REALTIME_PROVIDER is openai.",
        ),
        (
            {
                **PRODUCTION_ENV,
                "REALTIME_PROVIDER": "azure_voicelive",
                "AZURE_VOICELIVE_ENDPOINT": "https://x.test",
            },
            "Configuration error: AZURE_VOICELIVE_API_KEY must be set when REALTIME_PROVIDER is "
            "azure_voicelive.",
        ),
        (
            {**PRODUCTION_ENV, "OPENAI_REALTIME_URL": "ftp://x"},
            "Configuration error: OPENAI_REALTIME_URL must be",
        ),
        (
            {**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "soon"},
            "Configuration error: SECURE_HSTS_SECONDS must be",
        ),
    ],
)
def test_bad_configuration_fails_at_start_up_with_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    result = _run(["manage.py", "check"], **env)

    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_bad_database_url_is_named_without_echoing_its_password() -> None:
    result = _run(["manage.py", "check"], **PRODUCTION_ENV, DATABASE_URL="nosuchdb://u:hunter2@h/db")

    assert result.returncode == 1
    assert result.stderr == "Configuration error: DATABASE_URL is not a valid database URL.\n"


def test_the_asgi_application_refuses_to_start_with_the_same_one_line_error() -> None:
    result = _run(["-c", "import voiceproject.asgi"], DEBUG="0")

    assert result.returncode == 1
    assert result.stderr == "Configuration error: SECRET_KEY must be set when DEBUG is off.\n"


def test_defaults_are_sqlite_the_in_memory_layer_and_the_simulator() -> None:
    out = _settings_value(
        "settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND'],"
        " settings.REALTIME_PROVIDER, settings.SIGNUP_ENABLED",
        **PRODUCTION_ENV,
    )
    assert out == "django.db.backends.sqlite3 channels.layers.InMemoryChannelLayer simulator False"


def test_sqlite_connections_use_a_large_wal_and_keep_temporary_data_in_memory(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor();"
        " print([c.execute(f'PRAGMA {p}').fetchone()[0] for p in"
        " ('journal_mode', 'synchronous', 'temp_store', 'wal_autocheckpoint')])"
    )
    result = _run(
        ["-c", code],
        DJANGO_SETTINGS_MODULE="voiceproject.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **PRODUCTION_ENV,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['wal', 1, 2, 10000]"  # NORMAL, MEMORY


def test_redis_url_selects_the_redis_channel_layer() -> None:
    out = _settings_value(
        "settings.CHANNEL_LAYERS['default']['BACKEND'],"
        " settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']",
        **PRODUCTION_ENV,
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert out == "channels_redis.core.RedisChannelLayer ['redis://127.0.0.1:6379/3']"


def test_an_openai_key_makes_openai_the_default_provider() -> None:
    out = _settings_value("settings.REALTIME_PROVIDER", **PRODUCTION_ENV, OPENAI_API_KEY="sk-test")
    assert out == "openai"


def test_debug_turns_sign_up_on_and_allows_local_hosts() -> None:
    out = _settings_value("settings.SIGNUP_ENABLED, settings.ALLOWED_HOSTS", DEBUG="1")
    assert out == "True ['127.0.0.1', 'localhost', '[::1]']"


def test_production_settings_pass_the_deployment_checklist() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_there_are_no_model_changes_without_a_migration() -> None:
    result = _run(["manage.py", "makemigrations", "--check", "--dry-run"], **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_endpoints_accept_http_and_https_and_map_them_to_websocket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "https://res.openai.azure.com/")
    monkeypatch.setenv("B", "http://127.0.0.1:8765")
    monkeypatch.setenv("C", "ws://localhost:1/x")

    assert env_endpoint("A") == "wss://res.openai.azure.com"
    assert env_endpoint("B") == "ws://127.0.0.1:8765"
    assert env_endpoint("C") == "ws://localhost:1/x"
    assert env_endpoint("UNSET_VARIABLE") == ""


def test_a_hostless_endpoint_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "https:///path")
    with pytest.raises(ImproperlyConfigured, match=r"^A must be"):
        env_endpoint("A")


def test_typed_readers_parse_and_bound_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", " Yes ")
    monkeypatch.setenv("HOSTS", "a.example, ,b.example")
    monkeypatch.setenv("NUMBER", "70")

    assert env_bool("FLAG") is True
    assert env_list("HOSTS") == ["a.example", "b.example"]
    with pytest.raises(ImproperlyConfigured, match=r"NUMBER must be between 0 and 60; got 70\."):
        env_int("NUMBER", 5, minimum=0, maximum=60)
