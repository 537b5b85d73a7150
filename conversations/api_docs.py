"""`/api/docs/`: the OpenAPI schema as one server-rendered page, with no external scripts or styles.

drf-spectacular's Swagger UI and Redoc views load their code from a CDN, which an offline or locked
down deployment cannot reach; this page shows the same schema (every operation, parameter, body and
error) as plain HTML, and links to `/api/schema/` for tools.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")
CONSTRAINTS = ("minimum", "maximum", "minLength", "maxLength", "default")


@cache
def api_schema() -> dict[str, Any]:
    """The API's OpenAPI document, generated once per process (it depends on code only)."""
    return SchemaGenerator().get_schema(request=None, public=True)


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    """The reference page of the API, readable without signing in."""
    schema = api_schema()
    components = schema.get("components", {})
    context = {
        "info": schema["info"],
        "description": prose(schema["info"].get("description", "")),
        "operations": list(_operations(schema)),
        "security_schemes": components.get("securitySchemes", {}),
        "schemas": [_schema_entry(name, body) for name, body in components.get("schemas", {}).items()],
    }
    return render(request, "api/docs.html", context)


def _operations(schema: dict[str, Any]) -> Any:
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield _operation(path, method, item[method])


def _operation(path: str, method: str, op: dict[str, Any]) -> dict[str, Any]:
    body = op.get("requestBody", {})
    return {
        "id": op["operationId"],
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary", ""),
        "description": prose(op.get("description", "")),
        "public": not op.get("security") or {} in op["security"],
        "parameters": [
            {
                "name": p["name"],
                "in": p["in"],
                "required": p.get("required", False),
                "type": type_html(p.get("schema", {})),
                "description": prose(p.get("description", "")),
            }
            for p in op.get("parameters", [])
        ],
        "request": [
            {"media_type": media, "type": type_html(content.get("schema", {}))}
            for media, content in body.get("content", {}).items()
        ],
        "request_required": body.get("required", False),
        "responses": [
            {
                "status": status,
                "description": prose(response.get("description", "")),
                "types": [
                    {"media_type": media, "type": type_html(content.get("schema", {}))}
                    for media, content in response.get("content", {}).items()
                ],
            }
            for status, response in op.get("responses", {}).items()
        ],
    }


def _schema_entry(name: str, body: dict[str, Any]) -> dict[str, Any]:
    required = set(body.get("required", []))
    return {
        "name": name,
        "description": prose(body.get("description", "")),
        "type": "" if "properties" in body else type_html(body),
        "properties": [
            {
                "name": prop_name,
                "type": type_html(prop),
                "required": prop_name in required,
                "read_only": prop.get("readOnly", False),
                "description": prose(prop.get("description", "")),
            }
            for prop_name, prop in body.get("properties", {}).items()
        ],
    }


def type_html(schema: dict[str, Any]) -> SafeString:
    """A JSON schema as a short phrase, with links to the named schemas it uses."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        text = format_html('<a href="#schema-{}">{}</a>', name, name)
    elif "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
        parts = schema.get("allOf") or schema.get("oneOf") or schema.get("anyOf")
        text = format_html_join(" or ", "{}", ((type_html(part),) for part in parts))
    elif schema.get("type") == "array":
        text = format_html("array of {}", type_html(schema.get("items", {})))
    elif "enum" in schema:
        text = format_html("one of: {}", ", ".join(str(v) for v in schema["enum"] if v not in ("", None)))
    elif schema.get("type") == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        text = format_html("object of {}", type_html(extra) if isinstance(extra, dict) and extra else "any")
    else:
        kind = schema.get("type", "any")
        text = (
            format_html("{} ({})", kind, schema["format"]) if "format" in schema else format_html("{}", kind)
        )
    limits = ", ".join(f"{key} {schema[key]!r}" for key in CONSTRAINTS if key in schema)
    if limits:
        text = format_html("{} [{}]", text, limits)
    if schema.get("nullable"):
        text = format_html("{} or null", text)
    return text


def prose(text: str) -> SafeString:
    """A schema description as HTML: escaped, with `code` spans and line breaks kept."""
    html = _CODE.sub(r"<code>\1</code>", str(escape(text)))
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 - built from escaped text
