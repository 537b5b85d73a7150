"""`/healthz` (the process answers) and `/readyz` (it can reach the database and the channel layer).

Both answer without login and over plain HTTP (settings exempt them from the HTTPS redirect), so a
load balancer can probe each worker directly. Failures are logged; the body names only the check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers within the timeout; 503 naming the ones that did not."""
    checks = {
        "database": await _passes("database", sync_to_async(_check_database)),
        "channel_layer": await _passes("channel_layer", _check_channel_layer),
    }
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: "ok" if passed else "failed" for name, passed in checks.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)


async def _passes(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_S)
    except Exception:
        log.warning("Readiness check %s failed", name, exc_info=True)
        return False
    return True


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_channel_layer() -> None:
    """A message sent to a fresh channel of this process comes back."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("No channel layer is configured.")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("The channel layer returned another message.")
