"""Server-rendered pages for signed-in users: voice, history, settings and usage.

Views only parse the request, call selectors and services, and render; every page shows only
the signed-in user's own data (anything else is a 404).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from conversations.forms import HistoryFilterForm, RenameForm, SessionSettingsForm, UsageRangeForm
from conversations.models import Conversation, Message
from conversations.selectors import conversation_get, conversation_list, usage_by_day
from conversations.services import (
    conversation_delete,
    conversation_rename,
    session_settings_for,
)
from realtime.providers import get_provider

HISTORY_PAGE_SIZE = 20
RECENT_LIMIT = 5


@require_safe
@login_required
def voice(request: HttpRequest) -> HttpResponse:
    """The voice page; `?conversation=<uuid>` continues one of the user's conversations."""
    conversation = None
    if request.GET.get("conversation"):
        conversation = _own_conversation(request, request.GET["conversation"])
    context = {
        "section": "voice",
        "conversation": conversation,
        "earlier_turns": conversation.messages.all() if conversation else [],
        "recent": conversation_list(owner=request.user)[:RECENT_LIMIT],
    }
    return render(request, "conversations/voice.html", context)


@require_safe
@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's conversations, newest first, searchable and filterable, a page at a time."""
    form = HistoryFilterForm(request.GET or None)
    conversations = conversation_list(owner=request.user, **form.filters())
    page = Paginator(conversations, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    for conversation in page:
        conversation.duration_label = duration_label(conversation.duration_seconds)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"section": "history", "form": form, "page": page, "query": query.urlencode()}
    return render(request, "conversations/history.html", context)


@require_safe
@login_required
def conversation_detail(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """One conversation: transcript with interruptions, usage and cost, and what can be done with it."""
    conversation = _own_conversation(request, conversation_id)
    return _render_detail(request, conversation, RenameForm(initial={"title": conversation.title}))


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """Give a conversation a title of the user's choosing."""
    conversation = _own_conversation(request, conversation_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            conversation_rename(conversation=conversation, title=form.cleaned_data["title"])
        except ValueError as exc:
            form.add_error("title", str(exc))
        else:
            messages.success(request, "The conversation was renamed.")
            return redirect("conversation_detail", conversation_id=conversation.pk)
    return _render_detail(request, conversation, form, status=400)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def conversation_delete_view(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """Ask, then delete a conversation with its transcript and usage."""
    conversation = _own_conversation(request, conversation_id)
    if request.method == "POST":
        conversation_delete(conversation=conversation)
        messages.success(request, "The conversation was deleted.")
        return redirect("history")
    context = {"section": "history", "conversation": conversation}
    return render(request, "conversations/conversation_delete.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def session_settings(request: HttpRequest) -> HttpResponse:
    """The user's settings for new voice sessions, checked by the rules the API uses."""
    provider = get_provider()
    instance = session_settings_for(user=request.user)
    data = request.POST if request.method == "POST" else None
    form = SessionSettingsForm(data, provider=provider, instance=instance)
    if data is not None and form.is_valid() and form.save(user=request.user) is not None:
        messages.success(request, "Settings saved. They apply to the next session you start.")
        return redirect("session_settings")
    context = {"section": "settings", "form": form, "provider": provider}
    return render(request, "conversations/settings.html", context, status=400 if data is not None else 200)


@require_safe
@login_required
def usage(request: HttpRequest) -> HttpResponse:
    """Tokens and cost per day, as a chart and a table."""
    form = UsageRangeForm(request.GET or None)
    date_from, date_to = form.dates()
    rows = usage_by_day(owner=request.user, date_from=date_from, date_to=date_to)
    chart = [
        {
            "day": row["day"].isoformat(),
            "input": row["input_tokens"],
            "output": row["output_tokens"],
            "cost": float(row["cost"]),
        }
        for row in rows
    ]
    context = {
        "section": "usage",
        "form": form,
        "date_from": date_from,
        "date_to": date_to,
        "rows": rows,
        "totals": usage_totals(rows),
        "chart": chart,
    }
    return render(request, "conversations/usage.html", context)


# --- Helpers ---------------------------------------------------------------------------------------


def _own_conversation(request: HttpRequest, conversation_id: uuid.UUID | str) -> Conversation:
    """The signed-in user's conversation, or 404 (also for someone else's: no hint it exists)."""
    try:
        uuid.UUID(str(conversation_id))
    except ValueError:
        raise Http404("No such conversation.") from None
    conversation = conversation_get(owner=request.user, conversation_id=conversation_id)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _render_detail(
    request: HttpRequest, conversation: Conversation, rename_form: RenameForm, status: int = 200
) -> HttpResponse:
    turns = [_with_unheard(message) for message in conversation.messages.all()]
    context = {
        "section": "history",
        "conversation": conversation,
        "turns": turns,
        "usages": conversation.usages.all(),
        "duration": duration_label(conversation.duration_seconds),
        "rename_form": rename_form,
    }
    return render(request, "conversations/conversation_detail.html", context, status=status)


def _with_unheard(message: Message) -> Message:
    """Mark what of an interrupted answer was generated but never heard."""
    unheard = ""
    if message.was_interrupted:
        heard = message.heard_text
        unheard = message.text[len(heard) :] if message.text.startswith(heard) else message.text
    message.unheard_text = unheard.strip()  # type: ignore[attr-defined]
    return message


def duration_label(seconds: float | None) -> str:
    """`1:05`, `1:02:03`; an em dash while the conversation is still going."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def usage_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of the usage table's columns."""
    names = ("input_tokens", "output_tokens", "total_tokens", "reports", "unpriced")
    totals: dict[str, Any] = {name: sum(row[name] for row in rows) for name in names}
    totals["cost"] = sum((row["cost"] for row in rows), Decimal(0))
    return totals
