"""The admin: conversation list, search and filters, transcript detail, CSV exports, and no N+1 queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import exports, services
from conversations.models import Conversation, Message, Usage
from tests.factories import GPT_REALTIME_USAGE, add_turn, add_usage, make_conversation, make_user

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:conversations_conversation_changelist")


def _change_url(conversation: Conversation) -> str:
    return reverse("admin:conversations_conversation_change", args=[conversation.pk])


def _html(response: HttpResponse) -> str:
    """The page with the whitespace between tags removed, so cells can be matched whole."""
    return re.sub(r">\s+<", "><", response.content.decode())


def _listed(response: HttpResponse) -> list[Any]:
    return [conversation.pk for conversation in response.context["cl"].result_list]


def _minutes(value: float) -> dt.timedelta:
    return dt.timedelta(minutes=value)


def _count_queries(action: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def _seed(count: int) -> list[Conversation]:
    """Ended conversations with turns, an interruption and usage, each with its own owner."""
    conversations = []
    for _ in range(count):
        conversation = make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
        add_turn(conversation, "assistant", "a long answer to interrupt", interrupted_at_ms=1000)
        services.conversation_finish(conversation_id=conversation.pk, end_reason="user_stopped")
        conversations.append(conversation)
    return conversations


def _export(client: Client, action: str, conversations: list[Conversation]) -> HttpResponse:
    return client.post(
        CHANGELIST,
        {"action": action, "index": 0, "_selected_action": [str(c.pk) for c in conversations]},
    )


def _csv_rows(response: HttpResponse) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- Changelist -----------------------------------------------------------------------------------


def test_changelist_shows_owner_status_duration_tokens_and_cost(admin_client: Client) -> None:
    owner = make_user("carol")
    conversation = make_conversation(owner, usage=[GPT_REALTIME_USAGE], end_reason="user_stopped")
    Conversation.objects.filter(pk=conversation.pk).update(ended_at=conversation.started_at + _minutes(3.5))

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    content = response.content.decode()
    assert "carol" in content
    assert "Completed" in content
    assert "3 min 30 s" in content
    assert "253" in content
    assert "$0.0069656" in content
    assert "unpriced" not in content


def test_changelist_marks_a_cost_that_leaves_out_unpriced_usage(admin_client: Client) -> None:
    make_conversation(make_user(), model="some-unpriced-model", usage=[GPT_REALTIME_USAGE])

    content = admin_client.get(CHANGELIST).content.decode()

    assert "$0.0000" in content
    assert "⚠ +1 unpriced" in content


def test_changelist_shows_no_duration_for_an_active_conversation(admin_client: Client) -> None:
    make_conversation(make_user())

    response = admin_client.get(CHANGELIST)

    assert response.context["cl"].result_list[0].ended_at is None
    assert '<td class="field-duration">-</td>' in _html(response)


def test_changelist_counts_messages_once_even_when_a_search_joins_them(admin_client: Client) -> None:
    turns = [("user", "tell me about rain"), ("assistant", "rain falls"), ("user", "more rain")]
    conversation = make_conversation(make_user(), turns=turns)

    response = admin_client.get(CHANGELIST, {"q": "rain"})

    assert _listed(response) == [conversation.pk]
    assert response.context["cl"].result_list[0].message_count == 3


def test_changelist_queries_do_not_grow_with_the_number_of_conversations(admin_client: Client) -> None:
    _seed(2)
    with_two = _count_queries(lambda: admin_client.get(CHANGELIST))
    _seed(8)
    with_ten = _count_queries(lambda: admin_client.get(CHANGELIST))

    assert Conversation.objects.count() == 10
    assert with_ten == with_two


# --- Search and filters ---------------------------------------------------------------------------


def test_search_by_owner_username_finds_only_that_owners_conversation(admin_client: Client) -> None:
    mine = make_conversation(make_user("dmitri"), turns=[("user", "hello"), ("user", "again")])
    make_conversation(make_user("olga"))

    assert _listed(admin_client.get(CHANGELIST, {"q": "dmitri"})) == [mine.pk]


def test_search_by_owner_email_finds_that_owners_conversation(admin_client: Client) -> None:
    mine = make_conversation(make_user("pavel", email="pavel@voice.test"))
    make_conversation(make_user("vera"))

    assert _listed(admin_client.get(CHANGELIST, {"q": "voice.test"})) == [mine.pk]


def test_search_by_title_finds_that_conversation_once(admin_client: Client) -> None:
    titled = make_conversation(make_user(), title="Quarterly planning")
    make_conversation(make_user(), title="Holiday")

    assert _listed(admin_client.get(CHANGELIST, {"q": "quarterly"})) == [titled.pk]


def test_search_by_a_word_only_in_the_transcript_finds_that_conversation_once(admin_client: Client) -> None:
    turns = [("user", "what about the zeppelin"), ("assistant", "zeppelins fly"), ("user", "zeppelin!")]
    found = make_conversation(make_user(), turns=turns, title="Airships")
    make_conversation(make_user(), turns=[("user", "and balloons?")])

    assert _listed(admin_client.get(CHANGELIST, {"q": "zeppelin"})) == [found.pk]


def test_search_by_an_exact_conversation_id_finds_it(admin_client: Client) -> None:
    wanted = make_conversation(make_user())
    make_conversation(make_user())

    assert _listed(admin_client.get(CHANGELIST, {"q": str(wanted.pk)})) == [wanted.pk]


def test_filter_by_status_lists_only_conversations_in_that_status(admin_client: Client) -> None:
    failed = make_conversation(make_user(), end_reason="upstream_error")
    make_conversation(make_user(), end_reason="user_stopped")
    make_conversation(make_user())

    assert _listed(admin_client.get(CHANGELIST, {"status__exact": "failed"})) == [failed.pk]


def test_filter_by_provider_lists_only_that_providers_conversations(admin_client: Client) -> None:
    azure = make_conversation(make_user(), provider="azure_openai")
    make_conversation(make_user(), provider="openai")

    assert _listed(admin_client.get(CHANGELIST, {"provider": "azure_openai"})) == [azure.pk]


def test_filter_by_model_lists_only_that_models_conversations(admin_client: Client) -> None:
    mini = make_conversation(make_user(), model="gpt-realtime-mini")
    make_conversation(make_user(), model="gpt-realtime")

    response = admin_client.get(CHANGELIST, {"model": "gpt-realtime-mini"})

    assert _listed(response) == [mini.pk]


def test_filter_by_start_date_lists_only_conversations_started_then(admin_client: Client) -> None:
    today = make_conversation(make_user())
    old = make_conversation(make_user())
    Conversation.objects.filter(pk=old.pk).update(started_at=today.started_at - _minutes(60 * 24 * 40))

    response = admin_client.get(
        CHANGELIST,
        {
            "started_at__year": today.started_at.year,
            "started_at__month": today.started_at.month,
            "started_at__day": today.started_at.day,
        },
    )

    assert _listed(response) == [today.pk]


# --- Detail ---------------------------------------------------------------------------------------


def test_detail_shows_the_transcript_in_order_with_roles_and_the_interruption(admin_client: Client) -> None:
    conversation = make_conversation(
        make_user(), turns=[("user", "first question"), ("assistant", "first answer")]
    )
    add_turn(conversation, "user", "second question")
    add_turn(conversation, "assistant", "one two three four", audio_ms=2000, interrupted_at_ms=1000)

    content = _html(admin_client.get(_change_url(conversation)))

    positions = [content.index(text) for text in ("first question", "first answer", "second question")]
    assert positions == sorted(positions)
    assert content.count('<td class="field-role"><p>User</p></td>') == 2
    assert content.count('<td class="field-role"><p>Assistant</p></td>') == 2
    assert "⚡ interrupted</strong> — heard: “one two”" in content


def test_detail_shows_the_usage_rows_with_their_tokens_and_cost(admin_client: Client) -> None:
    conversation = make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
    add_usage(conversation, upstream_id="resp_unpriced", model="no-such-model")

    content = _html(admin_client.get(_change_url(conversation)))

    assert Usage.objects.filter(conversation=conversation).count() == 2
    assert "resp_unpriced" in content
    assert '<td class="field-total_tokens"><p>253</p></td>' in content
    assert "$0.0069656" in content
    assert "no price" in content


def test_detail_escapes_html_in_a_users_transcript(admin_client: Client) -> None:
    conversation = make_conversation(make_user(), turns=[("user", "<script>alert(1)</script>")])
    add_turn(conversation, "assistant", "<b>bold</b> claim here", audio_ms=1000, interrupted_at_ms=1000)

    content = admin_client.get(_change_url(conversation)).content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<b>bold</b>" not in content
    assert "heard: “&lt;b&gt;bold&lt;/b&gt; claim here”" in content


def test_detail_queries_do_not_grow_with_the_number_of_messages_or_usage(admin_client: Client) -> None:
    short = make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
    long = make_conversation(make_user(), turns=[("user", f"turn {n}") for n in range(12)])
    for _ in range(5):
        add_usage(long)
    add_turn(long, "assistant", "cut off here", interrupted_at_ms=500)

    for_short = _count_queries(lambda: admin_client.get(_change_url(short)))
    for_long = _count_queries(lambda: admin_client.get(_change_url(long)))

    assert for_long == for_short


def test_conversations_cannot_be_added_or_edited_in_the_admin(admin_client: Client) -> None:
    conversation = make_conversation(make_user(), title="Original")

    changelist = admin_client.get(CHANGELIST).content.decode()
    detail = admin_client.get(_change_url(conversation)).content.decode()
    add = admin_client.get(reverse("admin:conversations_conversation_add"))
    edit = admin_client.post(_change_url(conversation), {"title": "Edited"})

    assert reverse("admin:conversations_conversation_add") not in changelist
    assert 'name="title"' not in detail
    assert 'name="_save"' not in detail
    assert add.status_code == 403
    assert edit.status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Original"


def test_a_superuser_deletes_a_conversation_with_its_turns_and_usage(admin_client: Client) -> None:
    conversation = make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
    url = reverse("admin:conversations_conversation_delete", args=[conversation.pk])

    confirm = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert confirm.context["perms_lacking"] == set()
    assert response.status_code == 302
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
    assert not Usage.objects.exists()


def test_staff_without_superuser_status_cannot_delete_conversations(client: Client) -> None:
    staff = make_user("moderator", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="conversations"))
    conversation = make_conversation(make_user())
    client.force_login(staff)

    response = client.get(reverse("admin:conversations_conversation_delete", args=[conversation.pk]))

    assert response.status_code == 403


# --- CSV exports ----------------------------------------------------------------------------------


def test_export_action_returns_one_csv_row_per_selected_conversation(admin_client: Client) -> None:
    picked = make_conversation(
        make_user("erin"), title="=HYPERLINK(1)", usage=[GPT_REALTIME_USAGE], end_reason="user_stopped"
    )
    other = make_conversation(make_user("frank"))
    make_conversation(make_user("not-selected"))

    response = _export(admin_client, "export_conversations_csv", [picked, other])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    assert response.content.decode().splitlines()[0] == ",".join(exports.CONVERSATION_HEADER)
    rows = {row["id"]: row for row in _csv_rows(response)}
    assert set(rows) == {str(picked.pk), str(other.pk)}
    row = rows[str(picked.pk)]
    assert row["owner"] == "erin"
    assert row["title"] == "'=HYPERLINK(1)"
    assert row["status"] == "completed"
    assert row["message_count"] == "2"
    assert row["total_tokens"] == "253"
    assert Decimal(row["cost"]) == Decimal("0.0069656")
    assert row["unpriced_usage_count"] == "0"
    assert rows[str(other.pk)]["duration_s"] == ""


def test_export_action_queries_do_not_grow_with_the_selected_conversations(admin_client: Client) -> None:
    conversations = _seed(10)

    for_two = _count_queries(lambda: _export(admin_client, "export_conversations_csv", conversations[:2]))
    for_ten = _count_queries(lambda: _export(admin_client, "export_conversations_csv", conversations))

    assert for_ten == for_two


def test_export_of_search_results_counts_messages_once(admin_client: Client) -> None:
    conversation = make_conversation(make_user(), turns=[("user", "snow"), ("assistant", "snow again")])

    response = admin_client.post(
        f"{CHANGELIST}?q=snow",
        {"action": "export_conversations_csv", "index": 0, "_selected_action": [str(conversation.pk)]},
    )

    assert [row["message_count"] for row in _csv_rows(response)] == ["2"]


def test_transcript_export_returns_every_turn_of_the_selected_conversations_in_order(
    admin_client: Client,
) -> None:
    first = make_conversation(make_user(), turns=[("user", "+ plus"), ("assistant", "sure")])
    add_turn(first, "assistant", "one two three four", audio_ms=2000, interrupted_at_ms=1000)
    second = make_conversation(make_user(), turns=[("user", "only turn")])
    make_conversation(make_user(), turns=[("user", "not selected")])

    response = _export(admin_client, "export_transcripts_csv", [first, second])

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="transcripts-')
    assert response.content.decode().splitlines()[0] == ",".join(exports.TRANSCRIPT_HEADER)
    rows = [(r["conversation_id"], r["position"], r["role"], r["text"]) for r in _csv_rows(response)]
    assert rows == [
        (str(second.pk), "1", "user", "only turn"),
        (str(first.pk), "1", "user", "'+ plus"),
        (str(first.pk), "2", "assistant", "sure"),
        (str(first.pk), "3", "assistant", "one two three four"),
    ]
    interrupted = _csv_rows(response)[-1]
    assert (interrupted["status"], interrupted["heard_text"], interrupted["played_ms"]) == (
        "interrupted",
        "one two",
        "1000",
    )


def test_transcript_export_queries_do_not_grow_with_the_selected_conversations(admin_client: Client) -> None:
    conversations = _seed(10)

    for_two = _count_queries(lambda: _export(admin_client, "export_transcripts_csv", conversations[:2]))
    for_ten = _count_queries(lambda: _export(admin_client, "export_transcripts_csv", conversations))

    assert for_ten == for_two


# --- Usage and session settings -------------------------------------------------------------------


def test_usage_changelist_lists_reports_with_owner_tokens_and_cost(admin_client: Client) -> None:
    conversation = make_conversation(make_user("gina"), usage=[GPT_REALTIME_USAGE])
    add_usage(conversation, upstream_id="resp_special")

    response = admin_client.get(reverse("admin:conversations_usage_changelist"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "gina" in content
    assert "resp_special" in content
    assert "$0.0069656" in content
    assert reverse("admin:conversations_usage_add") not in content


def test_usage_changelist_queries_do_not_grow_with_the_number_of_reports(admin_client: Client) -> None:
    url = reverse("admin:conversations_usage_changelist")
    _seed(1)
    with_one = _count_queries(lambda: admin_client.get(url))
    _seed(6)
    with_seven = _count_queries(lambda: admin_client.get(url))

    assert with_seven == with_one


def test_usage_search_finds_reports_by_conversation_id(admin_client: Client) -> None:
    wanted = make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
    make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])

    response = admin_client.get(reverse("admin:conversations_usage_changelist"), {"q": str(wanted.pk)})

    assert [usage.conversation_id for usage in response.context["cl"].result_list] == [wanted.pk]


def test_a_usage_report_cannot_be_deleted_on_its_own(admin_client: Client) -> None:
    make_conversation(make_user(), usage=[GPT_REALTIME_USAGE])
    usage = Usage.objects.get()

    response = admin_client.post(
        reverse("admin:conversations_usage_delete", args=[usage.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Usage.objects.filter(pk=usage.pk).exists()


def test_session_settings_changelist_lists_users_preferences(admin_client: Client) -> None:
    services.session_settings_update(user=make_user("hana"), voice="marin", max_output_tokens=500)
    services.session_settings_update(user=make_user("ivan"), voice="cedar")

    response = admin_client.get(reverse("admin:conversations_sessionsettings_changelist"), {"q": "hana"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "marin" in content
    assert "500" in content
    assert "cedar" not in content


def test_session_settings_can_be_edited_in_the_admin(admin_client: Client) -> None:
    user = make_user("jana")
    settings = services.session_settings_for(user=user)
    form = {
        "user": user.pk,
        "voice": "cedar",
        "instructions": "",
        "turn_detection": "semantic_vad",
        "vad_eagerness": "low",
        "provider_options": "{}",
    }

    response = admin_client.post(
        reverse("admin:conversations_sessionsettings_change", args=[settings.pk]), form
    )

    settings.refresh_from_db()
    assert response.status_code == 302
    assert (settings.voice, settings.turn_detection, settings.vad_eagerness) == (
        "cedar",
        "semantic_vad",
        "low",
    )
