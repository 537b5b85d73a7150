"""The signed-in pages through Django's test client: voice, history, detail, settings and usage."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conversations.models import Conversation, SessionSettings
from conversations.services import session_settings_for
from realtime.providers.base import OPENAI_VOICES
from tests.factories import GPT_REALTIME_USAGE, add_turn, add_usage, make_conversation, make_user

pytestmark = pytest.mark.django_db

PAGES = ("/", "/history/", "/settings/", "/usage/")


@pytest.fixture
def alice() -> Any:
    return make_user("alice")


@pytest.fixture
def bob() -> Any:
    return make_user("bob")


@pytest.fixture
def signed_in(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def settings_post(**changes: Any) -> dict[str, Any]:
    """A valid settings form submission with some fields changed."""
    data = {
        "voice": "",
        "instructions": "",
        "turn_detection": "server_vad",
        "vad_threshold": "",
        "vad_prefix_padding_ms": "",
        "vad_silence_duration_ms": "",
        "vad_eagerness": "auto",
        "transcription_model": "",
        "transcription_language": "",
        "max_output_tokens": "",
        "noise_reduction": "",
    }
    data.update(changes)
    return data


# --- Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_visitors_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_the_navigation_and_simulator_banner(signed_in: Client, path: str) -> None:
    content = signed_in.get(path).content.decode()

    for label in ("Voice", "History", "Settings", "Usage", "Log out alice"):
        assert label in content
    assert 'aria-current="page"' in content
    assert "built-in simulator" in content
    assert 'href="/admin/"' not in content


def test_staff_see_the_admin_link(client: Client) -> None:
    client.force_login(make_user("root", is_staff=True))

    assert 'href="/admin/"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/history/{id}/",
        "/?conversation={id}",
        "/history/{id}/delete/",
    ],
)
def test_another_users_conversation_is_not_found(signed_in: Client, bob: Any, path: str) -> None:
    theirs = make_conversation(bob, turns=[("user", "bob's secret plan")])

    response = signed_in.get(path.format(id=theirs.pk))

    assert response.status_code == 404
    assert b"secret plan" not in response.content


def test_an_unknown_or_malformed_conversation_is_not_found(signed_in: Client) -> None:
    assert signed_in.get(f"/history/{uuid.uuid4()}/").status_code == 404
    assert signed_in.get("/?conversation=not-a-uuid").status_code == 404


# --- Voice page -------------------------------------------------------------------------------------


def test_the_voice_page_has_controls_captions_and_its_audio_modules(signed_in: Client) -> None:
    content = signed_in.get("/").content.decode()

    assert 'id="voice-start"' in content
    assert 'id="voice-stop"' in content
    assert re.search(r'<ol id="captions"[^>]*aria-live="polite"', content)
    assert 'role="meter"' in content
    assert 'data-capture-worklet="/static/js/capture-worklet.js"' in content
    assert 'data-playback-worklet="/static/js/playback-worklet.js"' in content
    assert 'src="/static/js/voice.js"' in content
    assert 'data-resume-id=""' in content


def test_the_voice_page_continues_a_conversation_with_its_earlier_turns_escaped(
    signed_in: Client, alice: Any
) -> None:
    mine = make_conversation(
        alice, turns=[("user", "<script>alert(1)</script>"), ("assistant", "Hello & bye")]
    )

    content = signed_in.get(f"/?conversation={mine.pk}").content.decode()

    assert f'data-resume-id="{mine.pk}"' in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
    assert "Hello &amp; bye" in content


def test_the_voice_page_shows_only_what_was_heard_of_an_interrupted_answer(
    signed_in: Client, alice: Any
) -> None:
    conversation = make_conversation(alice, turns=[("user", "tell me")])
    add_turn(conversation, "assistant", "one two three four", audio_ms=2000, interrupted_at_ms=1000)

    content = signed_in.get(f"/?conversation={conversation.pk}").content.decode()

    assert "one two" in content
    assert "three four" not in content


# --- History ----------------------------------------------------------------------------------------


def test_history_lists_only_the_users_conversations_with_duration_tokens_and_cost(
    signed_in: Client, alice: Any, bob: Any
) -> None:
    mine = make_conversation(
        alice, title="Trip planning", usage=[GPT_REALTIME_USAGE], end_reason="user_stopped"
    )
    Conversation.objects.filter(pk=mine.pk).update(ended_at=mine.started_at + dt.timedelta(seconds=65))
    make_conversation(bob, title="Bob's diary")

    content = signed_in.get("/history/").content.decode()

    assert "Trip planning" in content
    assert "Bob&#x27;s diary" not in content
    assert "Bob's diary" not in content
    assert "1:05" in content
    assert ">253<" in content  # total tokens
    assert "0.0070" in content  # $0.0069656
    assert "Completed" in content
    assert f'href="/history/{mine.pk}/"' in content


def test_history_escapes_titles(signed_in: Client, alice: Any) -> None:
    make_conversation(alice, title="<img src=x onerror=alert(1)>")

    content = signed_in.get("/history/").content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    assert "<img src=x" not in content


def test_history_searches_titles_and_transcripts(signed_in: Client, alice: Any) -> None:
    make_conversation(alice, title="Groceries", turns=[("user", "we need apples")])
    make_conversation(alice, title="Holidays", turns=[("user", "a beach in Portugal")])

    by_transcript = signed_in.get("/history/", {"q": "portugal"}).content.decode()
    by_title = signed_in.get("/history/", {"q": "grocer"}).content.decode()

    assert "Holidays" in by_transcript
    assert "Groceries" not in by_transcript
    assert "Groceries" in by_title
    assert "Holidays" not in by_title


def test_history_filters_by_status_and_date(signed_in: Client, alice: Any) -> None:
    done = make_conversation(alice, title="Finished one", end_reason="user_stopped")
    make_conversation(alice, title="Still active")
    old = make_conversation(alice, title="Last year", end_reason="user_stopped")
    Conversation.objects.filter(pk=old.pk).update(started_at=timezone.now() - dt.timedelta(days=400))

    completed = signed_in.get("/history/", {"status": "completed"}).content.decode()
    today = timezone.localdate().isoformat()
    recent = signed_in.get("/history/", {"date_from": today, "date_to": today}).content.decode()

    assert "Finished one" in completed
    assert "Last year" in completed
    assert "Still active" not in completed
    assert "Finished one" in recent
    assert "Still active" in recent
    assert "Last year" not in recent
    assert done.status == Conversation.Status.COMPLETED


def test_history_ignores_filters_it_cannot_read(signed_in: Client, alice: Any) -> None:
    make_conversation(alice, title="Visible")

    response = signed_in.get("/history/", {"date_from": "yesterday", "status": "bogus"})

    assert response.status_code == 200
    assert "Visible" in response.content.decode()
    assert "not understood" in response.content.decode()


def test_history_is_paginated_and_keeps_the_filters_in_page_links(signed_in: Client, alice: Any) -> None:
    for n in range(23):
        make_conversation(alice, title=f"Chat number {n:02d}")

    first = signed_in.get("/history/", {"q": "chat"}).content.decode()
    second = signed_in.get("/history/", {"q": "chat", "page": 2}).content.decode()

    assert first.count("Chat number") == 20
    assert second.count("Chat number") == 3
    assert "Page 1 of 2" in first
    assert 'href="?q=chat&amp;page=2"' in first
    assert 'href="?q=chat&amp;page=1"' in second
    assert "23 conversations match" in first


def test_history_costs_the_same_number_of_queries_for_any_page_size(
    signed_in: Client, alice: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(15):
        make_conversation(alice, usage=[GPT_REALTIME_USAGE])

    with django_assert_max_num_queries(6):
        signed_in.get("/history/")


# --- Detail, rename, delete ---------------------------------------------------------------------------


def test_the_detail_shows_the_transcript_with_what_was_heard_and_what_was_not(
    signed_in: Client, alice: Any
) -> None:
    conversation = make_conversation(alice, turns=[("user", "tell me a story")], usage=[GPT_REALTIME_USAGE])
    add_turn(conversation, "assistant", "once upon a time there was", audio_ms=2000, interrupted_at_ms=1000)
    add_turn(conversation, "user", "typed <b>bold</b> question", kind="text")

    content = signed_in.get(f"/history/{conversation.pk}/").content.decode()

    assert "tell me a story" in content
    assert '<span class="heard">once upon a</span>' in content
    assert '<del class="unheard" title="Generated but not heard">time there was</del>' in content
    assert "Interrupted after 1000 ms" in content
    assert "typed &lt;b&gt;bold&lt;/b&gt; question" in content
    assert "(typed)" in content
    assert content.index("tell me a story") < content.index("once upon") < content.index("typed &lt;b&gt;")


def test_the_detail_shows_usage_cost_and_the_links_to_export_continue_and_delete(
    signed_in: Client, alice: Any
) -> None:
    conversation = make_conversation(alice, usage=[GPT_REALTIME_USAGE])
    add_usage(conversation, {"input_tokens": 5, "output_tokens": 1}, model="unknown-model")

    content = signed_in.get(f"/history/{conversation.pk}/").content.decode()

    assert "0.006966" in content  # the priced report
    assert "no price" in content
    assert "without a known price" in content
    assert f'href="/api/conversations/{conversation.pk}/export/?format=md"' in content
    assert f'href="/api/conversations/{conversation.pk}/export/?format=json"' in content
    assert f'href="/?conversation={conversation.pk}"' in content
    assert f'href="/history/{conversation.pk}/delete/"' in content


def test_renaming_a_conversation(signed_in: Client, alice: Any) -> None:
    conversation = make_conversation(alice)

    response = signed_in.post(
        f"/history/{conversation.pk}/rename/", {"title": "  A   better  name "}, follow=True
    )

    conversation.refresh_from_db()
    assert conversation.title == "A better name"
    assert response.redirect_chain[-1][0] == f"/history/{conversation.pk}/"
    assert "The conversation was renamed." in response.content.decode()


def test_renaming_refuses_an_empty_title(signed_in: Client, alice: Any) -> None:
    conversation = make_conversation(alice, title="Kept")

    response = signed_in.post(f"/history/{conversation.pk}/rename/", {"title": "   "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.title == "Kept"


def test_renaming_needs_a_post_and_ownership(signed_in: Client, bob: Any) -> None:
    theirs = make_conversation(bob, title="Bob's")

    assert signed_in.get(f"/history/{theirs.pk}/rename/").status_code == 405
    assert signed_in.post(f"/history/{theirs.pk}/rename/", {"title": "Mine now"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "Bob's"


def test_deleting_asks_first_then_deletes(signed_in: Client, alice: Any) -> None:
    conversation = make_conversation(alice, title="Old chat")

    confirm = signed_in.get(f"/history/{conversation.pk}/delete/")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert Conversation.objects.filter(pk=conversation.pk).exists()

    response = signed_in.post(f"/history/{conversation.pk}/delete/", follow=True)

    assert response.redirect_chain[-1][0] == "/history/"
    assert "The conversation was deleted." in response.content.decode()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_nobody_deletes_another_users_conversation(signed_in: Client, bob: Any) -> None:
    theirs = make_conversation(bob)

    assert signed_in.post(f"/history/{theirs.pk}/delete/").status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk).exists()


# --- Settings ---------------------------------------------------------------------------------------


def test_settings_offer_the_voices_of_the_configured_provider(signed_in: Client) -> None:
    content = signed_in.get("/settings/").content.decode()

    for voice in OPENAI_VOICES:
        assert f'<option value="{voice}"' in content
    assert "simulator" in content
    assert 'name="echo_cancellation"' not in content  # the simulator has no such option


def test_settings_are_saved(signed_in: Client, alice: Any) -> None:
    data = settings_post(
        voice="coral",
        instructions="Answer briefly.",
        turn_detection="semantic_vad",
        vad_eagerness="high",
        vad_silence_duration_ms="700",
        vad_threshold="0.6",
        transcription_model="gpt-4o-transcribe",
        transcription_language="pt-BR",
        max_output_tokens="800",
        noise_reduction="far_field",
    )

    response = signed_in.post("/settings/", data, follow=True)

    assert "Settings saved" in response.content.decode()
    stored = SessionSettings.objects.get(user=alice)
    assert (stored.voice, stored.instructions, stored.turn_detection) == (
        "coral",
        "Answer briefly.",
        "semantic_vad",
    )
    assert (stored.vad_eagerness, stored.vad_silence_duration_ms, stored.vad_threshold) == ("high", 700, 0.6)
    assert (stored.transcription_model, stored.transcription_language) == ("gpt-4o-transcribe", "pt-BR")
    assert stored.max_output_tokens == 800
    assert stored.provider_options == {"noise_reduction": "far_field"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("voice", "nobody", "Must be a voice simulator offers"),
        ("vad_threshold", "2", "Must be a number from 0 to 1"),
        ("vad_silence_duration_ms", "twenty", "Must be a whole number from 100 to 5000 ms"),
        ("max_output_tokens", "1.5", "Must be a whole number from 1 to 4096 tokens"),
        ("transcription_language", "english", "Must be a language code"),
        ("turn_detection", "azure_semantic_vad", "Must be one of: server_vad, semantic_vad, none."),
        ("instructions", "x" * 4001, "Must be text of at most 4000 characters."),
    ],
)
def test_settings_refuse_what_the_provider_does_not_accept(
    signed_in: Client, alice: Any, field: str, value: str, message: str
) -> None:
    response = signed_in.post("/settings/", settings_post(**{"voice": "ash", field: value}))

    content = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in content
    assert message in content
    assert session_settings_for(user=alice).voice == ""


def test_the_settings_form_shows_the_stored_values(signed_in: Client, alice: Any) -> None:
    stored = session_settings_for(user=alice)
    stored.voice = "verse"
    stored.instructions = "Speak <slowly>"
    stored.save()

    content = signed_in.get("/settings/").content.decode()

    assert '<option value="verse" selected>' in content
    assert "Speak &lt;slowly&gt;" in content


# --- Usage ------------------------------------------------------------------------------------------


def test_usage_shows_tokens_and_cost_per_day_of_the_user_only(
    signed_in: Client, alice: Any, bob: Any
) -> None:
    make_conversation(alice, usage=[GPT_REALTIME_USAGE, GPT_REALTIME_USAGE])
    make_conversation(bob, usage=[{"input_tokens": 99999, "output_tokens": 1}])

    response = signed_in.get("/usage/")
    content = response.content.decode()

    assert response.status_code == 200
    assert ">506<" in content  # two reports of 253 tokens
    assert "0.0139" in content  # 2 x $0.0069656
    assert "99999" not in content
    assert "100000" not in content
    chart = response.context["chart"]
    assert chart == [
        {"day": timezone.localdate().isoformat(), "input": 264, "output": 242, "cost": 0.0139312}
    ]
    assert 'id="usage-data"' in content
    assert 'src="/static/js/usage-chart.js"' in content


def test_usage_covers_the_days_asked_for(signed_in: Client, alice: Any) -> None:
    make_conversation(alice, usage=[GPT_REALTIME_USAGE])
    yesterday = timezone.localdate() - dt.timedelta(days=1)

    response = signed_in.get("/usage/", {"date_from": "2020-01-01", "date_to": yesterday.isoformat()})

    assert response.context["rows"] == []
    assert "No usage in these days." in response.content.decode()
    assert response.context["date_from"] == dt.date(2020, 1, 1)


def test_usage_defaults_to_the_last_thirty_days(signed_in: Client) -> None:
    response = signed_in.get("/usage/")

    assert response.context["date_to"] == timezone.localdate()
    assert response.context["date_from"] == timezone.localdate() - dt.timedelta(days=29)
