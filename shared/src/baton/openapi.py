"""Every service's OpenAPI document names every answer it can give.

Routes document their own problems (`baton.errors.problem_responses`). What every
route may answer besides (a refused token or permission, a rejected request, a
body too large, too many requests, the database away) is added here once, and
every problem is documented as what it is on the wire: `application/problem+json`
with the `Problem` schema. Schema fuzzing (tests/test_schema_fuzzing.py) holds
each service to its document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from baton.authz import api_routes, route_access
from baton.errors import PROBLEM_MEDIA_TYPE, FieldError, Problem
from baton.pagination import InvalidCursor

_REF_TEMPLATE = "#/components/schemas/{model}"
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF_TEMPLATE.format(model="Problem")}}}
# FastAPI's own description of its (unused) validation error schema.
_FASTAPI_VALIDATION = "Validation Error"

_ANY_ROUTE = {
    "429": "`rate-limited`: Too many requests from this caller or address (the gateway)",
    "503": "`database-unavailable`, `upstream-unavailable`: Retry after `Retry-After`",
}
_PROTECTED_ROUTE = {
    "401": "`unauthenticated`: No valid access token",
    "403": "`forbidden`, `organisation-kind-refused`: Not permitted to this caller",
}
_PAGED = {"400": f"`{InvalidCursor.code}`: {InvalidCursor.title}"}
_WITH_INPUT = {"422": "`validation-failed`: Request validation failed; see `errors`"}
_WITH_BODY = {"413": "`payload-too-large`: Request bodies are limited to 1 MiB (the gateway)"}


def _add(responses: dict[str, Any], documented: Mapping[str, str]) -> None:
    for status, description in documented.items():
        entry = responses.setdefault(status, {"description": ""})
        known = [part for part in entry["description"].split(", ") if part]
        if _FASTAPI_VALIDATION in known:
            known.remove(_FASTAPI_VALIDATION)
        if description not in known:
            entry["description"] = ", ".join([description, *known])


def _as_problems(responses: dict[str, Any]) -> None:
    for status, entry in responses.items():
        content = entry.get("content")
        # A route documenting another error format (OAuth2's token errors) keeps it.
        own_format = content and PROBLEM_MEDIA_TYPE not in content and status != "422"
        if status.isdigit() and int(status) >= 400 and not own_format:
            entry["content"] = _PROBLEM_CONTENT


def _complete(document: dict[str, Any], public: set[tuple[str, str]]) -> dict[str, Any]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            _add(responses, _ANY_ROUTE)
            if (path, method.upper()) not in public:
                _add(responses, _PROTECTED_ROUTE)
            if operation.get("parameters") or "requestBody" in operation:
                _add(responses, _WITH_INPUT)
            if "requestBody" in operation:
                _add(responses, _WITH_BODY)
            if any(parameter["name"] == "cursor" for parameter in operation.get("parameters", ())):
                _add(responses, _PAGED)
            _as_problems(responses)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _, problem_schemas = models_json_schema(
        [(Problem, "serialization"), (FieldError, "serialization")], ref_template=_REF_TEMPLATE
    )
    schemas.update(problem_schemas.get("$defs", {}))
    return document


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` document the problems every route may answer."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            public = {
                (context.path, method)
                for context in api_routes(app)
                if context.path is not None and route_access(context) == "public"
                for method in context.methods or ()
            }
            app.openapi_schema = _complete(generate(), public)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
