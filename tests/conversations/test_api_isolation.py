"""Isolation: Bob tries every endpoint on Ann's data and learns nothing, not even that it exists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache

from conversations import services
from conversations.models import Conversation, SessionSettings
from tests.factories import GPT_REALTIME_USAGE, make_conversation, make_user, token_client

pytestmark = pytest.mark.django_db

SECRET = "ann-secret-zebra"

# Every endpoint that takes a conversation id, with a body it would accept from the owner.
ON_A_CONVERSATION = [
    ("get", "/api/conversations/{id}/", None),
    ("patch", "/api/conversations/{id}/", {"title": "taken over"}),
    ("delete", "/api/conversations/{id}/", None),
    ("get", "/api/conversations/{id}/export/", None),
    ("get", "/api/conversations/{id}/export/?format=json", None),
    ("get", "/api/conversations/{id}/export/?format=md", None),
]


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def ann() -> Any:
    return make_user("ann")


@pytest.fixture
def anns_conversation(ann: Any) -> Conversation:
    services.session_settings_update(user=ann, instructions=SECRET, voice="cedar")
    return make_conversation(
        ann, title=f"{SECRET} title", turns=[("user", f"{SECRET} words")], usage=[GPT_REALTIME_USAGE]
    )


@pytest.fixture
def bob_api() -> Any:
    return token_client(make_user("bob"))


@pytest.mark.parametrize(("method", "url", "body"), ON_A_CONVERSATION)
def test_another_users_conversation_is_not_found_and_unchanged(
    bob_api: Any, anns_conversation: Conversation, method: str, url: str, body: Any
) -> None:
    missing = getattr(bob_api, method)(url.format(id=uuid.uuid4()), body, format="json")

    response = getattr(bob_api, method)(url.format(id=anns_conversation.pk), body, format="json")

    assert response.status_code == 404
    assert response.json() == missing.json()  # the same answer as for an id nobody has
    assert SECRET not in response.content.decode()
    anns_conversation.refresh_from_db()
    assert anns_conversation.title == f"{SECRET} title"
    assert anns_conversation.messages.count() == 1


@pytest.mark.parametrize("params", [{}, {"search": SECRET}, {"search": "zebra", "status": "active"}])
def test_lists_and_searches_never_show_another_users_conversations(
    bob_api: Any, anns_conversation: Conversation, params: dict[str, str]
) -> None:
    response = bob_api.get("/api/conversations/", params)

    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert SECRET not in response.content.decode()


def test_settings_are_the_callers_own(bob_api: Any, anns_conversation: Conversation, ann: Any) -> None:
    read = bob_api.get("/api/settings/")
    changed = bob_api.patch("/api/settings/", {"instructions": "bob's"}, format="json")

    assert SECRET not in read.content.decode()
    assert changed.status_code == 200
    assert SessionSettings.objects.get(user=ann).instructions == SECRET


@pytest.mark.parametrize("who", ["ann", "all"])
def test_usage_of_others_is_forbidden(
    bob_api: Any, anns_conversation: Conversation, ann: Any, who: str
) -> None:
    response = bob_api.get("/api/usage/", {"user": who})
    by_id = bob_api.get("/api/usage/", {"user": str(ann.pk)})

    assert response.status_code == by_id.status_code == 403
    assert bob_api.get("/api/usage/").json()["totals"]["reports"] == 0


def test_the_owner_still_sees_everything_afterwards(
    bob_api: Any, anns_conversation: Conversation, ann: Any
) -> None:
    for method, url, body in ON_A_CONVERSATION:
        getattr(bob_api, method)(url.format(id=anns_conversation.pk), body, format="json")

    response = token_client(ann).get(f"/api/conversations/{anns_conversation.pk}/")

    assert response.status_code == 200
    assert response.json()["title"] == f"{SECRET} title"
