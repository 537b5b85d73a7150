from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """The voice relay between browsers and realtime model providers."""

    name = "realtime"
    verbose_name = "Realtime relay"
