"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Expose the flags the base template needs for navigation and banners."""
    return {
        "signup_enabled": settings.SIGNUP_ENABLED,
        "realtime_provider": settings.REALTIME_PROVIDER,
    }
