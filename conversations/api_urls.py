"""URLs of the REST API, mounted at /api/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from conversations import api, api_docs

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("conversations/", api.ConversationListView.as_view(), name="api-conversations"),
    path("conversations/<uuid:pk>/", api.ConversationDetailView.as_view(), name="api-conversation"),
    path(
        "conversations/<uuid:pk>/export/",
        api.ConversationExportView.as_view(),
        name="api-conversation-export",
    ),
    path("settings/", api.SettingsView.as_view(), name="api-settings"),
    path("settings/options/", api.SettingsOptionsView.as_view(), name="api-settings-options"),
    path("usage/", api.UsageView.as_view(), name="api-usage"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs.docs, name="api-docs"),
]
