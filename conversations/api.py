"""REST API views: thin, scoped to the caller; reads through selectors, writes through services.

Another user's conversation is answered exactly like a missing one (404), so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations import exports, selectors, services
from conversations.api_errors import error_responses
from conversations.api_throttles import AuthRateThrottle
from conversations.models import Conversation
from conversations.serializers import (
    ConversationDetailSerializer,
    ConversationExportSerializer,
    ConversationListQuerySerializer,
    ConversationRenameSerializer,
    ConversationSerializer,
    CredentialsSerializer,
    ExportQuerySerializer,
    SessionSettingsSerializer,
    SettingsOptionsSerializer,
    UsageQuerySerializer,
    UsageSerializer,
    settings_options,
    usage_report,
)
from realtime.providers import get_provider

NOT_FOUND = "No conversation with this id."
CONVERSATION_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The id of one of your conversations."
)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> serializers.Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


# --- Authentication -------------------------------------------------------------------------------


class TokenView(APIView):
    """Exchange a username and password for the caller's API token."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            **error_responses(400, 415, 429),
        },
        auth=[],
        summary="Get your API token",
        description="Send it as `Authorization: Token <token>`. The same token is returned until revoked.",
    )
    def post(self, request: Request) -> Response:
        serializer = CredentialsSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response({"token": services.api_token_for(user=serializer.validated_data["user"])})


# --- Conversations --------------------------------------------------------------------------------


class ConversationPagination(PageNumberPagination):
    """Pages of 20 by default, at most 100; a bad number is a 400 naming the parameter."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_page_message = "There is no page {page_number}."

    def get_page_size(self, request: Request) -> int:
        return _whole_number(request, self.page_size_query_param, self.page_size, maximum=self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return _whole_number(request, self.page_query_param, 1)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


def _whole_number(request: Request, name: str, default: int, *, maximum: int | None = None) -> int:
    """A positive whole number from the query, or the default when the parameter is absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    number = int(raw) if raw.isascii() and raw.isdigit() else 0
    if number < 1 or (maximum is not None and number > maximum):
        allowed = f"from 1 to {maximum}" if maximum is not None else "of 1 or more"
        raise ValidationError({name: f"Must be a whole number {allowed}."})
    return number


@extend_schema(
    parameters=[ConversationListQuerySerializer],
    responses={200: ConversationSerializer(many=True), **error_responses(400, 401, 404)},
    summary="List your conversations",
    description="Newest first. A page number past the last page answers 404.",
)
class ConversationListView(generics.ListAPIView):
    serializer_class = ConversationSerializer
    pagination_class = ConversationPagination
    queryset = Conversation.objects.none()  # the model, for the schema; rows come from the selector

    def get_queryset(self) -> Any:
        query = _valid(ConversationListQuerySerializer, self.request.query_params)
        return selectors.conversation_list(owner=self.request.user, **query.selector_filters())


@extend_schema(parameters=[CONVERSATION_ID])
class ConversationDetailView(generics.RetrieveDestroyAPIView):
    serializer_class = ConversationDetailSerializer
    queryset = Conversation.objects.none()
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self) -> Conversation:
        conversation = selectors.conversation_get(owner=self.request.user, conversation_id=self.kwargs["pk"])
        if conversation is None:
            raise NotFound(NOT_FOUND)
        return conversation

    @extend_schema(
        responses={200: ConversationDetailSerializer, **error_responses(401, 404)},
        summary="Read a conversation",
        description="Every turn in conversation order, interruptions, and usage totals.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ConversationRenameSerializer,
        responses={200: ConversationDetailSerializer, **error_responses(400, 401, 403, 404, 415, 429)},
        summary="Rename a conversation",
        description="The title is the only field that can change.",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        conversation = self.get_object()
        changes = ConversationRenameSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        if "title" in changes.validated_data:
            try:
                services.conversation_rename(conversation=conversation, title=changes.validated_data["title"])
            except ValueError as exc:
                raise ValidationError({"title": str(exc)}) from None
        return Response(self.get_serializer(conversation).data)

    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404, 429)},
        summary="Delete a conversation",
        description="With its turns and usage. This cannot be undone.",
    )
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, instance: Conversation) -> None:
        services.conversation_delete(conversation=instance)


class FirstRendererNegotiation(BaseContentNegotiation):
    """The export picks its format from `?format=`, not from DRF's format override or Accept."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> Any:
        return (renderers[0], renderers[0].media_type)


class ConversationExportView(APIView):
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        parameters=[CONVERSATION_ID, ExportQuerySerializer],
        responses={
            (200, "application/json"): ConversationExportSerializer,
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="A Markdown document."),
            **error_responses(400, 401, 404),
        },
        summary="Export a conversation",
        description=(
            "As a file (`Content-Disposition: attachment`): JSON with every turn, interruptions and "
            "usage, or Markdown in which all user text is escaped."
        ),
    )
    def get(self, request: Request, pk: Any) -> HttpResponse:
        kind = _valid(ExportQuerySerializer, request.query_params).validated_data["format"]
        conversation = selectors.conversation_get(owner=request.user, conversation_id=pk)
        if conversation is None:
            raise NotFound(NOT_FOUND)
        if kind == "md":
            body, content_type = exports.conversation_markdown(conversation), "text/markdown; charset=utf-8"
        else:
            body, content_type = (
                JSONRenderer().render(exports.conversation_export(conversation)),
                "application/json",
            )
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.pk}.{kind}"'
        return response


# --- Settings -------------------------------------------------------------------------------------


class SettingsView(generics.RetrieveUpdateAPIView):
    serializer_class = SessionSettingsSerializer

    def get_object(self) -> Any:
        return services.session_settings_for(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "provider": get_provider()}

    def perform_update(self, serializer: serializers.Serializer) -> None:
        serializer.instance = services.session_settings_update(
            user=self.request.user, **serializer.validated_data
        )

    @extend_schema(
        responses={200: SessionSettingsSerializer, **error_responses(401)}, summary="Read your settings"
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        responses={200: SessionSettingsSerializer, **error_responses(400, 401, 403, 415, 429)},
        summary="Replace your settings",
        description="Every setting is required. See `GET /api/settings/options/`.",
    )
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().put(request, *args, **kwargs)

    @extend_schema(
        responses={200: SessionSettingsSerializer, **error_responses(400, 401, 403, 415, 429)},
        summary="Change some of your settings",
        description="Only the settings sent are checked and changed. See `GET /api/settings/options/`.",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().patch(request, *args, **kwargs)


class SettingsOptionsView(APIView):
    @extend_schema(
        responses={200: SettingsOptionsSerializer, **error_responses(401)},
        summary="What the provider accepts",
        description="Voices, turn detection types, transcription models and the ranges of numeric settings.",
    )
    def get(self, request: Request) -> Response:
        return Response(SettingsOptionsSerializer(settings_options(get_provider())).data)


# --- Usage ----------------------------------------------------------------------------------------


class UsageView(APIView):
    @extend_schema(
        parameters=[UsageQuerySerializer],
        responses={200: UsageSerializer, **error_responses(400, 401, 403)},
        summary="Tokens and cost per day",
        description=(
            "Your usage per day (server time zone) from `from` to `to`, inclusive: by default the last "
            "30 days, at most 366. Staff may ask for another user or `all`."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _valid(UsageQuerySerializer, request.query_params).validated_data
        owner = self._owner(query.get("user", ""))
        days = selectors.usage_by_day(owner=owner, date_from=query["from"], date_to=query["to"])
        username = owner.get_username() if owner is not None else None
        report = usage_report(days=days, first=query["from"], last=query["to"], username=username)
        return Response(UsageSerializer(report).data)

    def _owner(self, key: str) -> Any:
        """Whose usage: the caller's own, or (staff only) the named user's or everyone's (None)."""
        user = self.request.user
        if not key or key in (user.get_username(), str(user.pk)):
            return user
        if not user.is_staff:
            raise PermissionDenied("Only staff may read other users' usage.")
        if key == "all":
            return None
        found = selectors.user_by_username_or_id(key=key)
        if found is None:
            raise ValidationError({"user": "No user has this username or id."})
        return found
