"""Staff API routes of the relay, mounted at /api/."""

from django.urls import path

from realtime import api

urlpatterns = [
    path("sessions/", api.LiveSessionListView.as_view(), name="api-sessions"),
    path("sessions/<uuid:pk>/end/", api.LiveSessionEndView.as_view(), name="api-session-end"),
]
