"""Create the demo user named by DEMO_USER, or say how to create a first user."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create or update the user given as DEMO_USER=username:password; without it, print a hint."

    def handle(self, *args: Any, **options: Any) -> None:
        spec = os.environ.get("DEMO_USER", "").strip()
        if not spec:
            if not get_user_model().objects.exists():
                self.stdout.write(
                    "No users yet. Create one with:  .venv/bin/python manage.py createsuperuser\n"
                    "(or set DEMO_USER=username:password before `make run`)."
                )
            return
        username, sep, password = spec.partition(":")
        if not sep or not username or not password:
            raise CommandError("DEMO_USER must look like username:password.")
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first() or user_model(username=username)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(f"DEMO_USER's password is too weak: {' '.join(exc.messages)}") from None
        user.set_password(password)
        user.save()
        self.stdout.write(f"Demo user {username!r} is ready: log in at http://127.0.0.1:8000/accounts/login/")
