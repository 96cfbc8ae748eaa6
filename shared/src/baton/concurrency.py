"""Optimistic concurrency over HTTP: `ETag` on reads, `If-Match` required on updates.

A record's ETag is its version number. An update names the version it was based
on; the service locks the row, compares, and answers 412 when someone else wrote
in between, so no update is silently lost. An update without `If-Match` gets 428.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Response

from baton.errors import BatonError


class PreconditionRequired(BatonError):
    code = "precondition-required"
    status = 428
    title = "If-Match required"


class PreconditionFailed(BatonError):
    code = "precondition-failed"
    status = 412
    title = "The record changed since it was read"


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(description="The `ETag` of the version this update is based on"),
    ] = None,
) -> int:
    if if_match is None:
        raise PreconditionRequired("Send the record's ETag in If-Match to update it.")
    value = if_match.strip()
    if value.startswith("W/"):
        # A weak validator cannot guard a write (RFC 9110 §13.1.1).
        raise PreconditionFailed("If-Match needs the strong ETag this API sent.")
    try:
        return int(value.strip('"'))
    except ValueError as exc:
        raise PreconditionFailed("If-Match does not name a version of this record.") from exc


async def _optional_if_match(
    if_match: Annotated[
        str | None,
        Header(description="Required when the record already exists: its `ETag`"),
    ] = None,
) -> int | None:
    return None if if_match is None else await _if_match(if_match)


def check_version(expected: int, current: int) -> None:
    """Raise 412 unless the (locked) record is still at the version the caller read."""
    if expected != current:
        raise PreconditionFailed(
            "Someone else updated the record; read it again and reapply your change.",
            headers={"ETag": etag(current)},
        )


# The version an update is based on, from `If-Match`.
IfMatch = Annotated[int, Depends(_if_match)]
# For create-or-replace: the version when replacing, None when creating.
OptionalIfMatch = Annotated[int | None, Depends(_optional_if_match)]
