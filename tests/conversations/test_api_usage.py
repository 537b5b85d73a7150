"""Usage over the API: tokens by kind and cost per day, the caller's own unless staff ask for more."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.factories import GPT_REALTIME_USAGE, backdate, make_conversation, make_user, token_client

pytestmark = pytest.mark.django_db

URL = "/api/usage/"
TRANSCRIPTION_USAGE = {
    "type": "tokens",
    "total_tokens": 30,
    "input_tokens": 20,
    "output_tokens": 10,
    "input_token_details": {"text_tokens": 0, "audio_tokens": 20},
}


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def ann() -> Any:
    return make_user("ann")


@pytest.fixture
def bob() -> Any:
    return make_user("bob")


def _on(days_ago: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def _today(offset: int = 0) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=offset)


def test_usage_is_summed_per_day_by_kind_of_token(ann: Any) -> None:
    backdate(make_conversation(ann, usage=[GPT_REALTIME_USAGE, GPT_REALTIME_USAGE]), _on(2))
    make_conversation(ann, usage=[GPT_REALTIME_USAGE])

    response = token_client(ann).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "ann"
    assert body["from"] == str(_today(-29))
    assert body["to"] == str(_today())
    assert [(d["day"], d["total_tokens"], d["reports"]) for d in body["days"]] == [
        (str(_today(-2)), 506, 2),
        (str(_today()), 253, 1),
    ]
    assert body["days"][0]["output_audio_tokens"] == 182
    assert body["days"][0]["cost"] == "0.0139312000"
    assert body["totals"]["total_tokens"] == 759
    assert body["totals"]["cached_text_tokens"] == 192
    assert body["totals"]["cost"] == "0.0208968000"
    assert body["totals"]["unpriced"] == 0


def test_reports_without_a_price_are_counted_but_not_costed(ann: Any) -> None:
    make_conversation(ann, model="unknown-model", usage=[TRANSCRIPTION_USAGE])

    day = token_client(ann).get(URL).json()["days"][0]

    assert (day["total_tokens"], day["cost"], day["unpriced"]) == (30, "0.0000000000", 1)


def test_the_range_is_inclusive(ann: Any) -> None:
    for days_ago in (1, 5, 10):
        backdate(make_conversation(ann, usage=[GPT_REALTIME_USAGE]), _on(days_ago))

    body = token_client(ann).get(URL, {"from": str(_today(-5)), "to": str(_today(-1))}).json()

    assert [d["day"] for d in body["days"]] == [str(_today(-5)), str(_today(-1))]
    assert body["totals"]["reports"] == 2


def test_an_empty_range_has_zero_totals(ann: Any) -> None:
    body = token_client(ann).get(URL, {"from": "2020-01-01", "to": "2020-01-31"}).json()

    assert body["days"] == []
    assert body["totals"]["total_tokens"] == 0
    assert body["totals"]["cost"] == "0.0000000000"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13-01"}, "from", "Date has wrong format."),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "from", "The range may span at most 366 days."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "Must be on or after from."),
        ({"to": "2000-01-01", "from": "2001-01-01"}, "to", "Must be on or after from."),
        ({"user": "x" * 151}, "user", "Ensure this field has no more than 150 characters."),
        ({"user": ""}, "user", "This field may not be blank."),
        ({"to": "0001-01-05"}, "to", "Must be a day from 1900-01-01 to 9998-12-31."),
        ({"from": "9999-12-31"}, "from", "Must be a day from 1900-01-01 to 9998-12-31."),
        ({"from": ""}, "from", "Date has wrong format."),
    ],
)
def test_bad_parameters_are_named(ann: Any, params: dict[str, str], field: str, message: str) -> None:
    response = token_client(ann).get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"]["fields"][field].startswith(message)


def test_a_whole_leap_year_is_allowed(ann: Any) -> None:
    assert token_client(ann).get(URL, {"from": "2024-01-01", "to": "2024-12-31"}).status_code == 200


def test_only_the_callers_usage_is_counted(ann: Any, bob: Any) -> None:
    make_conversation(ann, usage=[GPT_REALTIME_USAGE])
    make_conversation(bob, usage=[GPT_REALTIME_USAGE, GPT_REALTIME_USAGE])

    assert token_client(ann).get(URL).json()["totals"]["reports"] == 1


@pytest.mark.parametrize("who", ["bob", "all", "nobody"])
def test_others_usage_is_refused_to_non_staff(ann: Any, bob: Any, who: str) -> None:
    make_conversation(bob, usage=[GPT_REALTIME_USAGE])

    response = token_client(ann).get(URL, {"user": who})

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "Only staff may read other users' usage.",
        "fields": {},
    }


def test_anyone_may_name_themselves(ann: Any) -> None:
    make_conversation(ann, usage=[GPT_REALTIME_USAGE])

    by_name = token_client(ann).get(URL, {"user": "ann"}).json()
    by_id = token_client(ann).get(URL, {"user": str(ann.pk)}).json()

    assert by_name["totals"]["reports"] == by_id["totals"]["reports"] == 1


def test_staff_read_one_user_or_everyone(ann: Any, bob: Any) -> None:
    staff = make_user("boss", is_staff=True)
    make_conversation(ann, usage=[GPT_REALTIME_USAGE])
    make_conversation(bob, usage=[GPT_REALTIME_USAGE, GPT_REALTIME_USAGE])
    api = token_client(staff)

    by_name = api.get(URL, {"user": "bob"}).json()
    by_id = api.get(URL, {"user": str(ann.pk)}).json()
    everyone = api.get(URL, {"user": "all"}).json()
    own = api.get(URL).json()

    assert (by_name["user"], by_name["totals"]["reports"]) == ("bob", 2)
    assert (by_id["user"], by_id["totals"]["reports"]) == ("ann", 1)
    assert (everyone["user"], everyone["totals"]["reports"]) == (None, 3)
    assert (own["user"], own["totals"]["reports"]) == ("boss", 0)


@pytest.mark.parametrize("who", ["nobody", "999999", "9" * 30])
def test_staff_naming_an_unknown_user_get_400(who: str) -> None:
    response = token_client(make_user(is_staff=True)).get(URL, {"user": who})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"user": "No user has this username or id."}
