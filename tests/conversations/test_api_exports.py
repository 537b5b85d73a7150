"""Exports of one conversation as JSON and Markdown: complete, ordered, and safe to render."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.exports import markdown_escape
from tests.factories import GPT_REALTIME_USAGE, add_turn, make_conversation, make_user, token_client

markdown_it = pytest.importorskip("markdown_it")

HOSTILE = (
    "# Heading\n<script>alert(1)</script> **bold** _it_ `code` [link](http://evil.example) "
    "![img](http://evil.example/x.png) <http://evil.example> &amp; | a | b |\n"
    "    indented code\n> quote\n1. item\n- item\n---\n===\n```\nfence\n~~~ $x$ \\"
)

# What user text must never become once rendered.
MARKUP = ("<script", "<a ", "<img", "<code", "<pre", "<h1", "<h2", "<h3", "<blockquote", "<ul", "<ol", "<li")
MARKUP += ("<strong", "<em", "<table", "<hr", "<del", "<b>")


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _rendered_tokens(markdown: str) -> list[Any]:
    parser = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return parser.parse(markdown)


def _render(markdown: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


# --- Escaping -------------------------------------------------------------------------------------


def test_hostile_text_renders_as_plain_paragraphs_of_the_same_text() -> None:
    rendered = _render(markdown_escape(HOSTILE))

    assert [tag for tag in MARKUP if tag in rendered] == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&amp;amp;" in rendered


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
        | st.sampled_from("\n \t#*_`[]()<>&!|~=-+.1)\\$:^{}"),
        max_size=60,
    )
)
def test_any_text_renders_as_exactly_itself(text: str) -> None:
    tokens = _rendered_tokens(markdown_escape(text))

    assert {t.type for t in tokens} <= {"paragraph_open", "paragraph_close", "inline"}
    children = [child for t in tokens if t.type == "inline" for child in t.children or []]
    assert {c.type for c in children} <= {"text", "text_special", "softbreak"}
    shown = "".join("\n" if c.type == "softbreak" else c.content for c in children)
    assert " ".join(shown.split()) == " ".join(text.split())


# --- Endpoint -------------------------------------------------------------------------------------


@pytest.fixture
def ann() -> Any:
    return make_user("ann")


@pytest.fixture
def conversation(ann: Any) -> Any:
    conversation = make_conversation(
        ann, turns=[("user", "Tell me a story")], usage=[GPT_REALTIME_USAGE], end_reason="user_stopped"
    )
    add_turn(
        conversation, "assistant", "Once upon a time there was a fox", audio_ms=4000, interrupted_at_ms=2000
    )
    conversation.refresh_from_db()
    return conversation


@pytest.mark.django_db
def test_the_json_export_is_an_attachment_with_turns_interruptions_and_usage(
    ann: Any, conversation: Any
) -> None:
    response = token_client(ann).get(f"/api/conversations/{conversation.pk}/export/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="conversation-{conversation.pk}.json"'
    data = json.loads(response.content)
    assert data["export_version"] == 1
    assert data["id"] == str(conversation.pk)
    assert data["status"] == "completed"
    assert [(m["position"], m["role"]) for m in data["messages"]] == [(1, "user"), (2, "assistant")]
    answer = data["messages"][1]
    assert (answer["interrupted"], answer["played_ms"], answer["heard_text"]) == (
        True,
        2000,
        "Once upon a time",
    )
    assert data["usage"]["totals"]["total_tokens"] == 253
    assert data["usage"]["totals"]["cost"] == "0.0069656000"
    assert len(data["usage"]["reports"]) == 1
    assert data["usage"]["reports"][0]["output_audio_tokens"] == 91
    assert "ann" not in json.dumps(data)  # nothing about the account


@pytest.mark.django_db
def test_json_is_the_default_format(ann: Any, conversation: Any) -> None:
    response = token_client(ann).get(f"/api/conversations/{conversation.pk}/export/")

    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_the_markdown_export_escapes_user_text(ann: Any, conversation: Any) -> None:
    conversation.title = "<b>Title</b> **x**"
    conversation.save()
    add_turn(conversation, "user", HOSTILE)

    response = token_client(ann).get(f"/api/conversations/{conversation.pk}/export/", {"format": "md"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="conversation-{conversation.pk}.md"'
    text = response.content.decode()
    assert text.startswith("# &lt;b&gt;Title&lt;/b&gt; \\*\\*x\\*\\*\n")
    assert "### 1. User\n\nTell me a story" in text
    assert "### 2. Assistant (interrupted after 2000 ms)" in text
    assert "*Heard:* Once upon a time" in text
    assert "- Tokens: 253 (input 132, output 121)" in text
    assert "- Cost: 0.0069656 USD" in text
    rendered = _render(text)
    assert [tag for tag in MARKUP if tag in rendered] == ["<h1", "<h2", "<h3", "<ul", "<li", "<em"]
    assert rendered.count("<h1>") == 1
    assert html.escape("<script>alert(1)</script>", quote=False) in rendered


@pytest.mark.django_db
def test_an_unknown_format_is_named(ann: Any, conversation: Any) -> None:
    response = token_client(ann).get(f"/api/conversations/{conversation.pk}/export/", {"format": "csv"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"format": '"csv" is not a valid choice.'}


@pytest.mark.django_db
def test_the_accept_header_does_not_matter(ann: Any, conversation: Any) -> None:
    response = token_client(ann).get(
        f"/api/conversations/{conversation.pk}/export/", {"format": "md"}, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"


@pytest.mark.django_db
def test_an_export_of_an_unknown_conversation_is_not_found(ann: Any) -> None:
    response = token_client(ann).get("/api/conversations/00000000-0000-0000-0000-000000000000/export/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
