"""Baton's errors (RFC 9457 problem details, RFC 6749 token errors) as one exception."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from http import HTTPStatus
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldError:
    """One failing field of a rejected request, e.g. location ('body', 'priority')."""

    location: tuple[str | int, ...]
    message: str
    code: str


class BatonProblem(Exception):
    """Baton answered a call with an error.

    The message names the call by method and path (never its query, body or token)
    and says what Baton answered; Baton's problems never echo the request either,
    so the exception is safe to log.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        request_id: str | None = None,
        errors: tuple[FieldError, ...] = (),
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.errors = errors
        self.method = method
        self.path = path
        # Seconds the server asked to wait before retrying, when it said so.
        self.retry_after = retry_after
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its fields, so it survives pickling (a task queue's result, say).
        fields = {name: value for name, value in vars(self).items() if not name.startswith("_")}
        return (partial(type(self), **fields), ())

    def _describe(self) -> str:
        parts = [f"{self.method} {self.path} -> " if self.method else "", f"{self.status}"]
        parts.append(f" {self.code}: {self.title}")
        if self.detail:
            parts.append(f". {self.detail}")
        if self.errors:
            parts.append(f" ({len(self.errors)} field error(s))")
        if self.request_id:
            parts.append(f" [request id {self.request_id}]")
        return "".join(parts)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}  # Not JSON (a proxy's page, say): only the status is known.
    return body if isinstance(body, dict) else {}


def _field_errors(raw: Any) -> tuple[FieldError, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        FieldError(
            location=tuple(
                part for part in error.get("location", ()) if isinstance(part, str | int)
            ),
            message=str(error.get("message", "")),
            code=str(error.get("code", "")),
        )
        for error in raw
        if isinstance(error, dict)
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from `Retry-After` (a number of seconds or an HTTP date), if sent."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def problem_code(response: httpx.Response) -> str | None:
    """The `code` of a problem response, if it is one."""
    code = _json_object(response).get("code")
    return code if isinstance(code, str) else None


def problem_from(response: httpx.Response) -> BatonProblem:
    """The exception for an error response (a problem, an OAuth2 error, or anything else)."""
    body = _json_object(response)
    status = response.status_code
    phrase = _phrase(status)
    request_id = body.get("request_id") or response.headers.get("x-request-id")
    if isinstance(body.get("error"), str) and "code" not in body:
        # RFC 6749 §5.2, from the token endpoint: {"error": ..., "error_description": ...}
        code, title = body["error"], str(body.get("error_description") or phrase)
        detail = None
    else:
        code = str(body.get("code") or phrase.lower().replace(" ", "-").replace("'", ""))
        title = str(body.get("title") or phrase)
        detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    request = response.request
    return BatonProblem(
        status=status,
        code=code,
        title=title,
        detail=detail,
        request_id=str(request_id) if request_id else None,
        errors=_field_errors(body.get("errors")),
        method=request.method,
        path=request.url.path,
        retry_after=retry_after(response),
    )
