from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """Stored conversations: settings, turns, usage and cost."""

    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"
