"""Fixtures shared by every test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from django.db import connections


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    """Serve static files without a collected manifest, which tests never build; hash fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any) -> Iterator[None]:
    """pytest-django's test databases, and before they are dropped, the connections that async
    tests opened in asgiref's worker thread closed: kept open (`CONN_MAX_AGE`), one held the
    PostgreSQL test database, which then could not be dropped (a warning at every run's end)."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
