"""Staff API for live voice sessions: list them across workers, and end one wherever it runs."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.api_errors import error_responses
from realtime import registry
from realtime.control import end_sessions
from realtime.models import LiveSession


class LiveSessionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username", read_only=True)
    conversation = serializers.UUIDField(source="conversation_id", read_only=True)

    class Meta:
        model = LiveSession
        fields = ("id", "user", "conversation", "worker", "started_at", "heartbeat_at")
        read_only_fields = fields


class LiveSessionListView(APIView):
    """Voice sessions being relayed now, on any worker (staff only)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={200: LiveSessionSerializer(many=True), **error_responses(401, 403)},
        summary="List live voice sessions",
        description="Every session with a fresh heartbeat, newest first; sessions of dead workers are swept.",
    )
    def get(self, request: Request) -> Response:
        registry.sweep_stale()
        return Response(LiveSessionSerializer(registry.live_sessions(), many=True).data)


class LiveSessionEndView(APIView):
    """End one live session, whichever worker holds it (staff only)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(description="The worker holding the session was told to end it."),
            **error_responses(401, 403, 404, 429),
        },
        summary="End a live voice session",
        description="The conversation is finished as ended by an administrator; the browser is told why.",
    )
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        if not registry.live_sessions().filter(pk=pk).exists():
            raise NotFound("No live session with this id.")
        end_sessions([pk])
        return Response(status=202)
