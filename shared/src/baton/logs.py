"""Structured JSON logs carrying the request id, and the trace id while a span is current.

Log records hold only what the code passes in `extra`; callers must never pass
identity values, tokens or secrets. Uvicorn's own loggers are routed here so a
process writes one format only.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from baton.context import current_request_id

# Record attributes that are not extras; uvicorn's `color_message` duplicates `message`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and trace ids, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            # Finds the line from a trace, and the trace from a line.
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = redacted_traceback(record.exc_info[1])
        return json.dumps(entry, default=str, ensure_ascii=False)


def redacted_traceback(exc: BaseException) -> str:
    """Where it failed (frames and exception types), without any exception's message.

    Messages carry data: a database error quotes the row, a KeyError its key (a
    token, say). The frames and the request id are enough to find the cause.
    """
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        kind = type(current)
        lines.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)")
        lines.extend(line.rstrip() for line in traceback.format_list(frames))
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append("which came from:")
    return "\n".join(lines)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger of the process, uvicorn's included, to stdout as JSON."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Access lines come from Baton's own middleware (with request id, without query strings).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request's full URL at INFO: a query string or a partner's
    # webhook URL may carry identifiers or tokens. Baton's clients log their own lines.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
