"""WebSocket routes of the relay."""

from __future__ import annotations

from django.urls import URLPattern, path

from realtime.consumers import VoiceConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/voice/", VoiceConsumer.as_asgi()),
]
