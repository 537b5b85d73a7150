"""ASGI entry point: HTTP through Django, WebSocket through origin checks and authentication."""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceproject.settings")

try:
    from django.core.asgi import get_asgi_application

    # Django must be set up before anything imports models, so consumers come after this.
    django_asgi_app = get_asgi_application()
except ImproperlyConfigured as exc:
    raise SystemExit(f"Configuration error: {exc}") from None

from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings

from realtime.auth import websocket_stack
from realtime.routing import websocket_urlpatterns
from voiceproject.garbage import tune_for_worker

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
    }
)

# Last, so that everything the app imported at start-up is frozen.
tune_for_worker(settings.WORKER_GC_THRESHOLD)
