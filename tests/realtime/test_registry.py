"""Admitting a live session: the queries it takes, inside the session plan's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from realtime import registry
from realtime.limits import Limits
from realtime.models import LiveSession
from tests.factories import make_conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password="pw")


LIMITS = Limits(max_sessions=2, daily_tokens=0, daily_cost=None, max_session_minutes=60)


def _admit(user: Any) -> list[str]:
    """Admit a session inside a transaction, as plan_session does; the statements it ran."""
    conversation = make_conversation(user)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        registry.register(user=user, conversation_id=conversation.pk, limits=LIMITS, worker="w:1")
    return [q["sql"] for q in queries.captured_queries]


def test_admission_inside_the_plans_transaction_takes_no_savepoint(owner: Any) -> None:
    statements = _admit(owner)

    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]
    assert LiveSession.objects.filter(user=owner).count() == 1


def test_admission_locks_the_users_row_only_where_the_database_locks_rows(owner: Any) -> None:
    statements = _admit(owner)

    locks = [sql for sql in statements if 'FROM "auth_user"' in sql]
    if connection.features.has_select_for_update:
        assert len(locks) == 1
        assert "FOR UPDATE" in locks[0]
    else:  # SQLite: the IMMEDIATE transaction already holds the database's write lock
        assert locks == []


def test_a_refused_admission_rolls_back_with_the_plans_transaction(owner: Any) -> None:
    conversation = make_conversation(owner)
    full = Limits(max_sessions=0, daily_tokens=0, daily_cost=None, max_session_minutes=60)

    def plan() -> None:
        with transaction.atomic():
            LiveSession.objects.create(user=owner, conversation=conversation, worker="w:1")
            registry.register(user=owner, conversation_id=conversation.pk, limits=full, worker="w:1")

    with pytest.raises(registry.LimitReached):
        plan()

    assert not LiveSession.objects.exists()
