"""Logged exceptions say where, never what: their messages may hold tokens or names."""

from __future__ import annotations

import json
import logging

from baton.logs import JsonFormatter

TOKEN = "eyJhbGciOiJFUzI1NiJ9.planted-token.signature"
NAME = "Ardita Krasniqi"


def _failing_lookup() -> None:
    cache: dict[str, int] = {}
    try:
        cache[TOKEN] += 1
    except KeyError as exc:
        raise ValueError(f"duplicate key value (name)=({NAME})") from exc


def test_an_exception_is_logged_with_types_and_frames_but_no_message() -> None:
    try:
        _failing_lookup()
    except ValueError as exc:
        record = logging.LogRecord(
            "baton.errors",
            logging.ERROR,
            __file__,
            1,
            "unhandled exception",
            None,
            (type(exc), exc, exc.__traceback__),
        )
    line = JsonFormatter("kit-probe").format(record)
    assert TOKEN not in line
    assert NAME not in line
    exception = json.loads(line)["exception"]
    assert "builtins.ValueError (message withheld)" in exception
    assert "builtins.KeyError (message withheld)" in exception
    assert "_failing_lookup" in exception
