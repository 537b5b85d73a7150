"""One error body for the whole API, and the exception handler that produces it.

Every error answers `{"error": {"code": "...", "message": "...", "fields": {...}}}`: `code` is stable
and machine-readable, `message` is for people, `fields` names each invalid field or query parameter
with one message (empty when the error is not about fields). Unexpected exceptions are logged and
answered with a bare `server_error`: never a stack trace or an exception's text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

log = logging.getLogger(__name__)

SERVER_ERROR_MESSAGE = "Something went wrong on our side. Please try again later."
# Codes of DRF's exceptions that read better under another name.
CODE_OVERRIDES = {"invalid": "validation_error", "error": "bad_request"}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The body of every error answer."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: known errors in the common body, anything else as a bare 500."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        log.error("Unhandled error in %s", type(view).__name__, exc_info=exc)
        set_rollback()
        return Response(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    response.data = _body_for(_as_api_exception(exc))
    return response


def _as_api_exception(exc: Exception) -> exceptions.APIException:
    """Django's own 404 and 403 as DRF's, as the default handler treats them."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return cast(exceptions.APIException, exc)  # DRF's handler answers nothing else


def _body_for(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc.detail)
    code = exc.get_codes() if isinstance(exc.detail, str) else exc.default_code
    code = CODE_OVERRIDES.get(str(code), str(code))
    return error_body(code, str(exc.detail) if isinstance(exc.detail, str) else str(exc.default_detail))


def _validation_body(detail: Any) -> dict[str, Any]:
    """One message per field (dotted paths for nested ones); errors of the whole input make the message."""
    if not isinstance(detail, dict):
        messages = list(_messages(detail))
        return error_body("validation_error", messages[0] if messages else "The input is not valid.")
    general = list(_messages(detail.get(api_settings.NON_FIELD_ERRORS_KEY, [])))
    fields = dict(_field_messages(detail))
    fields.pop(api_settings.NON_FIELD_ERRORS_KEY, None)
    message = general[0] if general else "Some fields are not valid: " + ", ".join(fields) + "."
    return error_body("validation_error", message, fields)


def _field_messages(detail: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _field_messages(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, value in enumerate(detail):
            yield from _field_messages(value, f"{prefix}.{index}")
    else:
        messages = list(_messages(detail))
        if messages:
            yield prefix, " ".join(messages)


def _messages(detail: Any) -> Iterator[str]:
    if isinstance(detail, list):
        for item in detail:
            yield from _messages(item)
    elif isinstance(detail, dict):
        for item in detail.values():
            yield from _messages(item)
    elif detail:
        yield str(detail)


# --- Django's own 404 and 500 under /api/ ---------------------------------------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an unknown /api/ URL gets the error body; pages keep Django's 404 page."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a failure outside a view under /api/ gets the bare error body too."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)


# --- The error body in the OpenAPI schema ---------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=(
            "Stable, machine-readable: validation_error, parse_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, not_acceptable, "
            "unsupported_media_type, throttled, server_error."
        )
    )
    message = serializers.CharField(help_text="What went wrong, for people.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" cannot be declared as a class attribute: Serializer.fields is taken.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.CharField(),
            help_text="One message per invalid field or query parameter, by name; empty otherwise.",
        )
        return fields


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `validation_error` (with `fields`) or `parse_error` (malformed JSON).",
    401: "No credentials or bad ones (`not_authenticated`, `authentication_failed`).",
    403: "Not allowed (`permission_denied`), e.g. a missing CSRF token with session authentication.",
    404: "Not found, or not yours: other users' objects are indistinguishable from missing ones.",
    415: "The body is not JSON (`unsupported_media_type`).",
    429: "Too many requests (`throttled`); `Retry-After` says how many seconds to wait.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema responses for these error statuses, all with the common error body."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}
