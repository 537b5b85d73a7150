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

from realtime.auth import websocket_stack
from realtime.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
    }
)
