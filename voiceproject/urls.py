"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("voiceproject.accounts_urls")),
    path("", include("conversations.urls")),
]
