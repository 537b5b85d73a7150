"""The browser tests' database: migrated, with a user who has earlier conversations on several days.

Runs inside the app's own database, in one process:
`manage.py shell -c "from tests.browser.seed import prepare; prepare(username, password)"`.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management import call_command
from django.utils import timezone

from conversations import services
from conversations.models import Conversation, Usage
from tests.factories import GPT_REALTIME_USAGE

# (days ago, title, turns, usage reports)
EARLIER = (
    (
        6,
        "Planning a trip to Lisbon",
        (("user", "Where should I stay in Lisbon?"), ("assistant", "Alfama or Baixa.")),
        3,
    ),
    (
        4,
        "Bread recipe",
        (("user", "How long does sourdough rise?"), ("assistant", "Four to twelve hours.")),
        1,
    ),
    (3, "Practising Spanish", (("user", "¿Cómo estás?"), ("assistant", "Muy bien, gracias.")), 5),
    (1, "Quick question", (("user", "What is the capital of Peru?"), ("assistant", "Lima.")), 2),
)


def prepare(username: str, password: str) -> None:
    """Migrate, create the user, and give them the conversations of EARLIER."""
    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user(username=username, password=password)
    seed(user)


def seed(user: AbstractBaseUser) -> None:
    """Give `user` the conversations of EARLIER, ended, with usage on their days."""
    for days_ago, title, turns, reports in EARLIER:
        conversation = services.conversation_start(owner=user, provider="simulator", model="gpt-realtime")
        for n, (role, text) in enumerate(turns):
            services.message_complete(
                conversation_id=conversation.pk, item_id=f"seed_{n}", role=role, text=text
            )
        for n in range(reports):
            services.usage_record(
                conversation_id=conversation.pk,
                upstream_id=f"resp_seed_{n}",
                kind="response",
                usage=GPT_REALTIME_USAGE,
            )
        services.conversation_rename(conversation=conversation, title=title)
        services.conversation_finish(conversation_id=conversation.pk, end_reason="user_stopped")
        when = timezone.now() - dt.timedelta(days=days_ago)
        Conversation.objects.filter(pk=conversation.pk).update(
            started_at=when, ended_at=when + dt.timedelta(seconds=40 + 30 * reports)
        )
        Usage.objects.filter(conversation=conversation).update(created_at=when)
