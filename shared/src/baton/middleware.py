"""Pure ASGI middleware: request id, `Cache-Control: no-store`, one access line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.context import request_id_var

REQUEST_ID_HEADER = "x-request-id"
# Accept the gateway's id (a UUID) or a partner's correlation id; anything else could
# be used to forge log lines, so it is replaced.
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

access_logger = logging.getLogger("baton.access")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _ACCEPTABLE_REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    """Takes `X-Request-ID` from the gateway (or makes one), echoes it, logs the request.

    Wraps the whole application, error middleware included, so that a 500 carries
    the request id too. The access line holds the path without its query string.
    `observe(method, route, status, seconds)` is told of every request too (metrics:
    one wrapper for both keeps the hot path short).
    """

    def __init__(
        self, app: ASGIApp, observe: Callable[[str, Any, int, float], None] | None = None
    ) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or str(uuid.uuid4())
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                # Answers hold personal data more often than not: no browser or proxy
                # keeps one unless the endpoint said otherwise.
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            if self.observe is not None:
                self.observe(scope["method"], route, status_code, elapsed)
            access_logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": getattr(route, "path", None),
                    "status": status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)
