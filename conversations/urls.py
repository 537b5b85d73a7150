"""Pages of the conversations app."""

from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.voice, name="home"),
    path("history/", views.history, name="history"),
    path("history/<uuid:conversation_id>/", views.conversation_detail, name="conversation_detail"),
    path(
        "history/<uuid:conversation_id>/rename/", views.conversation_rename_view, name="conversation_rename"
    ),
    path(
        "history/<uuid:conversation_id>/delete/", views.conversation_delete_view, name="conversation_delete"
    ),
    path("settings/", views.session_settings, name="session_settings"),
    path("usage/", views.usage, name="usage"),
]
