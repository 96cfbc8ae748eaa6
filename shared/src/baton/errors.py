"""One error hierarchy and one handler set producing RFC 9457 problem details.

Services raise `BatonError` subclasses (never `HTTPException`); every error the
framework raises (validation, unknown route, wrong method) and every unexpected
exception is rendered as `application/problem+json` with a stable `type`.
Problem bodies never echo request input: a rejected value may be an identity.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sqlalchemy_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.context import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:baton:problem:"

logger = logging.getLogger("baton.errors")


def problem_type(code: str) -> str:
    """The stable `type` URI of a problem code."""
    return f"{PROBLEM_TYPE_PREFIX}{code}"


class FieldError(BaseModel):
    """One failing field of a rejected request."""

    location: list[str | int] = Field(description="Where the field is, e.g. ['body', 'name']")
    message: str
    code: str = Field(description="Machine-readable reason, e.g. 'missing' or 'json_invalid'")


class Problem(BaseModel):
    """RFC 9457 problem details, as every Baton error is returned."""

    type: str = Field(description="Stable URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable short code of the problem, also the end of `type`")
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class BatonError(Exception):
    """Base of every error a service raises on purpose; subclasses set code and status."""

    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers or {}


class NotFound(BatonError):
    code = "not-found"
    status = 404
    title = "Not found"


class Conflict(BatonError):
    code = "conflict"
    status = 409
    title = "Conflict"


class ServiceUnavailable(BatonError):
    code = "service-unavailable"
    status = 503
    title = "Service unavailable"


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    """Render a problem; the single place the wire format is decided."""
    problem = Problem(
        type=problem_type(code),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        code=code,
        request_id=current_request_id(),
        errors=list(errors) if errors is not None else None,
    )
    return ProblemResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=headers
    )


def _http_code(status: int) -> tuple[str, str]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return phrase.lower().replace(" ", "-").replace("'", ""), phrase


def _field_errors(raw_errors: Sequence[Any]) -> list[FieldError]:
    # Keep location, message and code only: `input` and `ctx` may carry the rejected value.
    return [
        FieldError(
            location=[part for part in error.get("loc", ()) if isinstance(part, str | int)],
            message=str(error.get("msg", "invalid")),
            code=str(error.get("type", "invalid")),
        )
        for error in raw_errors
    ]


async def _handle_baton_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, BatonError)
    if exc.status >= 500:
        logger.error("request failed", extra={"problem": exc.code})
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    return problem_response(
        request,
        status=422,
        code="validation-failed",
        title="Request validation failed",
        detail=f"{len(errors)} field(s) failed validation; see `errors`.",
        errors=errors,
    )


# FastAPI's answer when the body is no JSON it can read at all (nested past the
# parser's depth, say): for the client that is a body that failed validation.
_UNPARSEABLE_BODY = "There was an error parsing the body"


async def _handle_http_exception(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
        unreadable = FieldError(
            location=["body"],
            message="The body is not JSON this API can read.",
            code="json_invalid",
        )
        return problem_response(
            request,
            status=422,
            code="validation-failed",
            title="Request validation failed",
            detail="The body could not be parsed; see `errors`.",
            errors=[unreadable],
        )
    code, phrase = _http_code(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=phrase,
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _handle_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    # The exception text may hold data from the request: log its type and trace only.
    logger.error(
        "unhandled exception",
        extra={"exception_type": type(exc).__qualname__},
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem_response(
        request,
        status=500,
        code="internal-error",
        title="Internal error",
        detail="The server could not complete the request; quote the request id when asking.",
    )


# The database is down, restarting, too slow (statement timeout) or out of connections:
# the request left nothing behind (its transaction is gone), so a retry is safe.
DATABASE_RETRY_AFTER_SECONDS = 1
# SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator
# intervention (57014: canceled by statement_timeout; 57P01-03: shutdown, starting up).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57")
DATABASE_GONE = (
    sqlalchemy_errors.TimeoutError,
    ConnectionError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def _database_unavailable(exc: Exception) -> bool:
    if isinstance(exc, DATABASE_GONE):
        return True  # the pool stayed empty, or no connection could be opened or kept
    if isinstance(exc, sqlalchemy_errors.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig  # type: ignore[assignment]
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate.startswith(_TRANSIENT_SQLSTATE_CLASSES)


async def _handle_database_error(request: Request, exc: Exception) -> ProblemResponse:
    if not _database_unavailable(exc):
        return await _handle_unexpected(request, exc)
    logger.warning("database unavailable", extra={"exception_type": type(exc).__qualname__})
    return problem_response(
        request,
        status=503,
        code="database-unavailable",
        title="Service unavailable",
        detail="The service's database did not answer in time; retry shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` an RFC 9457 problem."""
    for database_error in (sqlalchemy_errors.DBAPIError, asyncpg.PostgresError, *DATABASE_GONE):
        app.add_exception_handler(database_error, _handle_database_error)
    app.add_exception_handler(BatonError, _handle_baton_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)


def problem_responses(*errors: type[BatonError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the problems an endpoint may return."""
    documented: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = documented.setdefault(
            error.status,
            {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": ""},
        )
        codes = [c for c in entry["description"].split(", ") if c]
        entry["description"] = ", ".join([*codes, f"`{error.code}`: {error.title}"])
    return documented
