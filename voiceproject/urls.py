"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

from voiceproject import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/", include("conversations.api_urls")),
    path("api/", include("realtime.api_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("voiceproject.accounts_urls")),
    path("", include("conversations.urls")),
]

# Unknown URLs and failures outside a view answer in the API's error body under /api/.
handler404 = "conversations.api_errors.page_not_found"
handler500 = "conversations.api_errors.server_error"
