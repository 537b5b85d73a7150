"""Server-rendered pages for signed-in users."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from conversations.selectors import conversation_list

RECENT_LIMIT = 20


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's start page with their most recent conversations."""
    recent = conversation_list(owner=request.user)[:RECENT_LIMIT]
    return render(request, "conversations/home.html", {"conversations": recent})
