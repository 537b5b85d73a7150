"""Conversations over the API: list, search, filters, pages, detail, rename and delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from conversations.models import Conversation
from tests.factories import GPT_REALTIME_USAGE, add_turn, backdate, make_conversation, make_user, token_client

pytestmark = pytest.mark.django_db

LIST = "/api/conversations/"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def ann() -> Any:
    return make_user("ann")


@pytest.fixture
def api(ann: Any) -> Any:
    return token_client(ann)


def _days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["title"] for c in response.json()["results"]]


# --- List -----------------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_counts_and_totals(ann: Any, api: Any) -> None:
    backdate(make_conversation(ann, title="old"), _days_ago(2))
    new = make_conversation(ann, title="new", usage=[GPT_REALTIME_USAGE], end_reason="user_stopped")

    body = api.get(LIST).json()

    assert body["count"] == 2
    assert [c["title"] for c in body["results"]] == ["new", "old"]
    first = body["results"][0]
    assert first["id"] == str(new.pk)
    assert first["message_count"] == 2
    assert first["total_tokens"] == 253
    assert first["cost"] == "0.0069656000"
    assert first["status"] == "completed"
    assert first["end_reason"] == "user_stopped"
    assert "messages" not in first


def test_the_list_holds_only_the_callers_conversations(ann: Any, api: Any) -> None:
    make_conversation(ann, title="mine")
    make_conversation(make_user(), title="theirs")

    assert _titles(api.get(LIST)) == ["mine"]


def test_search_finds_titles_and_transcript_text(ann: Any, api: Any) -> None:
    make_conversation(ann, title="Rome trip")
    make_conversation(ann, turns=[("user", "Tell me about ROME"), ("assistant", "It is old.")], title="City")
    make_conversation(ann, title="Paris")

    assert sorted(_titles(api.get(LIST, {"search": "rome"}))) == ["City", "Rome trip"]
    assert _titles(api.get(LIST, {"search": "old"})) == ["City"]
    assert len(_titles(api.get(LIST, {"search": ""}))) == 3


def test_status_and_date_filters(ann: Any, api: Any) -> None:
    backdate(make_conversation(ann, title="ten days", end_reason="user_stopped"), _days_ago(10))
    backdate(make_conversation(ann, title="five days"), _days_ago(5))
    make_conversation(ann, title="today")
    today = timezone.localdate()

    assert _titles(api.get(LIST, {"status": "completed"})) == ["ten days"]
    assert _titles(api.get(LIST, {"status": "active"})) == ["today", "five days"]
    assert _titles(api.get(LIST, {"from": str(today - dt.timedelta(days=6))})) == ["today", "five days"]
    assert _titles(api.get(LIST, {"to": str(today - dt.timedelta(days=5))})) == ["five days", "ten days"]
    one_day = str(today - dt.timedelta(days=5))
    assert _titles(api.get(LIST, {"from": one_day, "to": one_day})) == ["five days"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "yesterday"}, "from", "Date has wrong format."),
        ({"to": "2026-02-30"}, "to", "Date has wrong format."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "Must be on or after from."),
        ({"status": "finished"}, "status", '"finished" is not a valid choice.'),
        ({"status": ""}, "status", '"" is not a valid choice.'),
        ({"to": ""}, "to", "Date has wrong format."),
        ({"to": "9999-12-31"}, "to", "Must be a day from 1900-01-01 to 9998-12-31."),
        ({"from": "0001-01-01"}, "from", "Must be a day from 1900-01-01 to 9998-12-31."),
        ({"search": "x" * 201}, "search", "Ensure this field has no more than 200 characters."),
        ({"search": "a\x00b"}, "search", "Null characters are not allowed."),
        ({"page": "0"}, "page", "Must be a whole number of 1 or more."),
        ({"page": "two"}, "page", "Must be a whole number of 1 or more."),
        ({"page_size": "101"}, "page_size", "Must be a whole number from 1 to 100."),
        ({"page_size": "-1"}, "page_size", "Must be a whole number from 1 to 100."),
        ({"page_size": ""}, "page_size", "Must be a whole number from 1 to 100."),
    ],
)
def test_bad_parameters_are_named(api: Any, params: dict[str, str], field: str, message: str) -> None:
    response = api.get(LIST, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"][field].startswith(message)
    assert field in error["message"]


def test_pages_are_bounded_and_linked(ann: Any, api: Any) -> None:
    for n in range(5):
        backdate(make_conversation(ann, title=f"c{n}", turns=()), _days_ago(n))

    first = api.get(LIST, {"page_size": 2}).json()
    last = api.get(LIST, {"page_size": 2, "page": 3}).json()
    past = api.get(LIST, {"page_size": 2, "page": 4})

    assert first["count"] == 5
    assert [c["title"] for c in first["results"]] == ["c0", "c1"]
    assert first["previous"] is None
    assert first["next"].endswith("/api/conversations/?page=2&page_size=2")
    assert [c["title"] for c in last["results"]] == ["c4"]
    assert last["next"] is None
    assert past.status_code == 404
    assert past.json()["error"] == {"code": "not_found", "message": "There is no page 4.", "fields": {}}


def test_a_page_holds_twenty_by_default_and_a_hundred_at_most(ann: Any, api: Any) -> None:
    Conversation.objects.bulk_create(
        Conversation(owner=ann, provider="openai", title=f"c{n}") for n in range(101)
    )

    assert len(api.get(LIST).json()["results"]) == 20
    assert len(api.get(LIST, {"page_size": 100}).json()["results"]) == 100


def test_listing_costs_the_same_queries_for_any_number_of_conversations(
    ann: Any, api: Any, django_assert_num_queries: Any
) -> None:
    make_conversation(ann, usage=[GPT_REALTIME_USAGE])
    # Token and user, count, page.
    with django_assert_num_queries(3):
        assert api.get(LIST, {"search": "hi"}).status_code == 200
    for _ in range(15):
        make_conversation(ann, usage=[GPT_REALTIME_USAGE])
    with django_assert_num_queries(3):
        assert len(api.get(LIST, {"search": "hi"}).json()["results"]) == 16


# --- Detail ---------------------------------------------------------------------------------------


def test_the_detail_has_every_turn_in_order_with_interruptions_and_usage(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann, turns=[("user", "Tell me a story")], usage=[GPT_REALTIME_USAGE])
    add_turn(
        conversation, "assistant", "Once upon a time there was a fox", audio_ms=4000, interrupted_at_ms=2000
    )
    add_turn(conversation, "user", "Stop, a shorter one")

    body = api.get(f"{LIST}{conversation.pk}/").json()

    assert [(m["position"], m["role"], m["text"]) for m in body["messages"]] == [
        (1, "user", "Tell me a story"),
        (2, "assistant", "Once upon a time there was a fox"),
        (3, "user", "Stop, a shorter one"),
    ]
    interrupted = body["messages"][1]
    assert interrupted["interrupted"] is True
    assert interrupted["status"] == "interrupted"
    assert interrupted["played_ms"] == 2000
    assert interrupted["heard_text"] == "Once upon a time"
    assert body["messages"][0]["interrupted"] is False
    assert body["message_count"] == 3
    assert body["title"] == "Tell me a story"
    assert body["usage"]["total_tokens"] == 253
    assert body["usage"]["input_audio_tokens"] == 13
    assert body["usage"]["cached_text_tokens"] == 64
    assert body["usage"]["cost"] == "0.0069656000"
    assert body["usage"]["unpriced_usage_count"] == 0


def test_the_detail_costs_a_fixed_number_of_queries(
    ann: Any, api: Any, django_assert_num_queries: Any
) -> None:
    conversation = make_conversation(
        ann, turns=[("user", "a"), ("assistant", "b")] * 10, usage=[GPT_REALTIME_USAGE] * 3
    )

    # Token and user, conversation, its turns, its usage.
    with django_assert_num_queries(4):
        assert api.get(f"{LIST}{conversation.pk}/").status_code == 200


def test_an_unknown_id_is_not_found(api: Any) -> None:
    response = api.get(f"{LIST}00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No conversation with this id.", "fields": {}}
    }


def test_a_malformed_id_is_not_found_with_the_error_body(api: Any) -> None:
    response = api.get(f"{LIST}not-a-uuid/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- Rename and delete ----------------------------------------------------------------------------


def test_patch_renames(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann, title="old")

    response = api.patch(f"{LIST}{conversation.pk}/", {"title": "  Rome \n trip "}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Rome trip"
    assert response.json()["messages"][0]["text"] == "hi"
    conversation.refresh_from_db()
    assert conversation.title == "Rome trip"


def test_patch_without_a_title_changes_nothing(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann, title="old")

    response = api.patch(f"{LIST}{conversation.pk}/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "old"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"title": ""}, "title", "This field may not be blank."),
        ({"title": " \n\t "}, "title", "A title cannot be empty."),
        ({"title": "x" * 201}, "title", "Ensure this field has no more than 200 characters."),
        ({"title": None}, "title", "This field may not be null."),
        ({"title": 5}, "title", "Must be a string."),
        ({"title": "a\x00b"}, "title", "Null characters are not allowed."),
        ({"status": "completed"}, "status", "Unknown or read-only field; you may send: title."),
    ],
)
def test_patch_refuses_bad_input(ann: Any, api: Any, body: dict[str, Any], field: str, message: str) -> None:
    conversation = make_conversation(ann, title="old")

    response = api.patch(f"{LIST}{conversation.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: message}
    conversation.refresh_from_db()
    assert conversation.title == "old"
    assert conversation.status == "active"


def test_patch_needs_json(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann)

    response = api.patch(f"{LIST}{conversation.pk}/", {"title": "x"})  # multipart

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_put_is_not_allowed(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann)

    response = api.put(f"{LIST}{conversation.pk}/", {"title": "x"}, format="json")

    assert response.status_code == 405
    assert response.json()["error"] == {
        "code": "method_not_allowed",
        "message": 'Method "PUT" not allowed.',
        "fields": {},
    }


def test_delete_removes_the_conversation_with_its_turns_and_usage(ann: Any, api: Any) -> None:
    conversation = make_conversation(ann, usage=[GPT_REALTIME_USAGE])
    url = f"{LIST}{conversation.pk}/"

    response = api.delete(url)

    assert response.status_code == 204
    assert response.content == b""
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404
