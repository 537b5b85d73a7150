"""Prepare the benchmark's own database: migrate, then create users and DRF tokens.

Run with the bench environment (its own DATABASE_URL); prints the token keys as JSON.

    DATABASE_URL=sqlite:///bench/results/bench.sqlite3 python -m bench.setup_db 300
"""

from __future__ import annotations

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", interactive=False, verbosity=0)
    user_model = get_user_model()
    names = [f"bench{i:05d}" for i in range(users)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    user_model.objects.bulk_create(
        # An unusable password: these users only ever authenticate by token.
        [user_model(username=name, password="!bench") for name in names if name not in existing]  # noqa: S106
    )
    keys = []
    for user in user_model.objects.filter(username__in=names).order_by("username"):
        token, _ = Token.objects.get_or_create(user=user)
        keys.append(token.key)
    json.dump(keys, sys.stdout)


if __name__ == "__main__":
    main()
