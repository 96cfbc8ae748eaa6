"""`Idempotency-Key`: a POST that a partner system may retry takes effect once.

The first request with a key claims it: a row inserted in the request's own
transaction, before the work. The response is stored in that row before the
commit, so the claim, the work and the stored response commit or roll back as one:

- a retry after success finds the stored response and gets it again, with
  `Idempotent-Replayed: true`; nothing is done twice;
- a retry after a failure (the transaction rolled back) finds no row and runs anew;
- a concurrent duplicate (the first request still in progress) is refused at once
  with 409 `idempotency-key-in-progress` and `Retry-After`: retried later with the
  same key, it gets the first response (or, if that rolled back, runs itself);
- the same key with another request (method, path or body) is refused (422).

Keys belong to one caller (organisation and subject): nobody can replay another
caller's response. They expire (24 hours unless told otherwise): an expired key
counts as absent, and `purge` (the services' `purge-idempotency-keys` command,
`purge_command`) deletes expired keys. Each service creates the
table in its own metadata and migrations with `idempotency_table`; baton holds none.

In a route (`key: IdempotencyKeyHeader`)::

    claim = await idempotency.claim(session, IdempotencyKey, principal, key, data)
    if claim.replay is not None:
        return claim.replay.response()
    created = ...  # the work
    await claim.remember(201, created, response.headers)
    return created
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from baton.auth import Principal
from baton.db import command_session
from baton.errors import BatonError, Conflict
from baton.server import Command
from baton.settings import ServiceSettings

logger = logging.getLogger("baton.idempotency")

REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_TTL = timedelta(hours=24)
# Only these response headers are stored and replayed (by these names).
STORED_HEADERS = ("ETag", "Location")
ENDPOINT_LENGTH = 300
_KEY = re.compile(r"[\x20-\x7e]{1,255}")


class IdempotencyKeyInvalid(BatonError):
    code = "idempotency-key-invalid"
    status = 400
    title = "Idempotency-Key must be 1 to 255 printable ASCII characters"


class IdempotencyKeyReused(BatonError):
    code = "idempotency-key-reused"
    status = 422
    title = "This Idempotency-Key was used for another request"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency-key-in-progress"
    title = "The request with this Idempotency-Key is still in progress"


class IdempotencyKeyUnanswered(Conflict):
    code = "idempotency-key-unanswered"
    title = "The request with this Idempotency-Key ended without a stored response"


# For `problem_responses(...)` on endpoints that honour the header.
IDEMPOTENCY_ERRORS: tuple[type[BatonError], ...] = (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotencyKeyInProgress,
    IdempotencyKeyUnanswered,
)
# Seconds a concurrent duplicate is asked to wait before retrying with the same key.
IN_PROGRESS_RETRY_AFTER = 1


def idempotency_table(metadata: sa.MetaData, name: str = "idempotency_key") -> sa.Table:
    """The table of idempotency keys, in a service's own metadata (and its migrations)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("organisation_id", sa.Uuid, primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        # "POST /v1/things": where the key was first used.
        sa.Column("endpoint", sa.String(ENDPOINT_LENGTH), nullable=False),
        # SHA-256 of method, path and canonical body.
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        # Null while the first request is in progress.
        sa.Column("status_code", sa.SmallInteger, nullable=True),
        sa.Column("response_body", JSONB(none_as_null=True), nullable=True),
        sa.Column("response_headers", JSONB(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


@dataclass(frozen=True)
class RequestKey:
    """The `Idempotency-Key` a request sent, and the endpoint it sent it to."""

    key: str
    endpoint: str  # "POST /v1/cases"


async def _idempotency_key(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            description=(
                "A unique value (1-255 printable ASCII characters) per operation: "
                "a retry with the same key and body gets the first response again"
            )
        ),
    ] = None,
) -> RequestKey | None:
    if idempotency_key is None:
        return None
    if not _KEY.fullmatch(idempotency_key):
        raise IdempotencyKeyInvalid()
    return RequestKey(idempotency_key, f"{request.method} {request.url.path}")


# The request's `Idempotency-Key` (with its endpoint), None when it sent none.
IdempotencyKeyHeader = Annotated[RequestKey | None, Depends(_idempotency_key)]


def _document(body: BaseModel | Mapping[str, Any] | None) -> Any:
    if isinstance(body, BaseModel):
        # As FastAPI serialises a response model.
        return body.model_dump(mode="json", by_alias=True)
    return None if body is None else dict(body)


def fingerprint(endpoint: str, body: BaseModel | Mapping[str, Any] | None) -> bytes:
    """SHA-256 of the endpoint and the canonical JSON of the (validated) body.

    Key order and whitespace do not change it; neither does a default the client
    left out, since the validated model holds it either way.
    """
    canonical = json.dumps(
        [endpoint, _document(body)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True)
class Replay:
    """A stored response, to send again instead of doing the work twice."""

    status_code: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        headers = {**self.headers, REPLAYED_HEADER: "true"}
        if self.body is None:
            return Response(status_code=self.status_code, headers=headers)
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


def _caller(table: sa.Table, principal: Principal, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.organisation_id == principal.org_id,
        table.c.subject == principal.subject,
        table.c.key == key,
    )


def _expired(table: sa.Table, ttl: timedelta) -> sa.ColumnElement[bool]:
    # The database's clock, the same for every instance of the service.
    return table.c.created_at < sa.func.now() - sa.literal(ttl, sa.Interval)


def in_progress_lock(table_name: str, organisation_id: uuid.UUID, subject: str, key: str) -> str:
    """The name of the advisory lock a request holds while it works under its key.

    The lock itself is PostgreSQL's 64-bit `hashtextextended(name, 0)`.
    """
    return f"{table_name}|{organisation_id}|{subject}|{key}"


@dataclass(frozen=True, eq=False)
class Claim:
    """What claiming a key gave: a replay to send, or a response to remember."""

    replay: Replay | None
    _session: AsyncSession | None = None
    _table: sa.Table | None = None
    _where: sa.ColumnElement[bool] | None = None

    async def remember(
        self, status: int, body: BaseModel | Mapping[str, Any] | None, headers: Mapping[str, str]
    ) -> None:
        """Store the response (only its ETag and Location headers) in the same transaction.

        Does nothing for a request without a key.
        """
        if self._session is None or self._table is None or self._where is None:
            return
        given = {name.lower(): value for name, value in headers.items()}
        kept = {name: given[name.lower()] for name in STORED_HEADERS if name.lower() in given}
        await self._session.execute(
            sa.update(self._table)
            .where(self._where)
            .values(status_code=status, response_body=_document(body), response_headers=kept)
        )


# A request without a key: no replay, nothing to remember.
UNKEYED = Claim(replay=None)


async def claim(
    session: AsyncSession,
    table: sa.Table,
    principal: Principal,
    key: RequestKey | None,
    body: BaseModel | Mapping[str, Any] | None,
    *,
    ttl: timedelta = DEFAULT_TTL,
) -> Claim:
    """Claim the request's key before doing its work; `Claim.replay` says if it was done.

    With no replay, do the work and call `Claim.remember` with the response.
    Raises `IdempotencyKeyReused` when the key came with another request,
    `IdempotencyKeyInProgress` while its first request runs, and
    `IdempotencyKeyUnanswered` when its first request committed without a response.
    """
    if key is None:
        return UNKEYED
    # The first request holds this lock until its transaction ends; a duplicate
    # does not queue behind it (holding a connection the while) but is told to retry.
    digest = fingerprint(key.endpoint, body)
    where = _caller(table, principal, key.key)
    lock = in_progress_lock(table.fullname, principal.org_id, principal.subject, key.key)
    taken = await session.scalar(
        sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtextextended(lock, 0)))
    )
    if not taken:
        # Another request holds the key: the first still at work, or another retry of
        # one that finished (then its stored response is already there to replay).
        stored = await _stored(session, table, where, ttl)
        if stored is None or stored.status_code is None:
            raise IdempotencyKeyInProgress(
                "Retry with the same key after the time in Retry-After.",
                headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)},
            )
        return _replay(stored, digest)
    proposed = insert(table).values(
        organisation_id=principal.org_id,
        subject=principal.subject,
        key=key.key,
        endpoint=key.endpoint[:ENDPOINT_LENGTH],
        fingerprint=digest,
        created_at=sa.func.now(),
    )
    # An expired row is taken over as if it were absent; a live one is only locked.
    statement = proposed.on_conflict_do_update(
        index_elements=[table.c.organisation_id, table.c.subject, table.c.key],
        set_={
            "endpoint": proposed.excluded.endpoint,
            "fingerprint": proposed.excluded.fingerprint,
            "status_code": sa.null(),
            "response_body": sa.null(),
            "response_headers": sa.null(),
            "created_at": proposed.excluded.created_at,
        },
        where=_expired(table, ttl),
    ).returning(table.c.key)
    if await session.scalar(statement) is not None:
        return Claim(replay=None, _session=session, _table=table, _where=where)
    stored = await _stored(session, table, where, ttl)
    if stored is None:
        # It expired between the two statements: this very moment is its 24th hour.
        raise IdempotencyKeyInProgress(
            "Retry with the same key.", headers={"Retry-After": str(IN_PROGRESS_RETRY_AFTER)}
        )
    return _replay(stored, digest)


async def _stored(
    session: AsyncSession, table: sa.Table, where: sa.ColumnElement[bool], ttl: timedelta
) -> sa.Row[Any, Any, Any, Any] | None:
    """The live stored row of the key, if any (an expired one counts as absent)."""
    query = sa.select(
        table.c.fingerprint,
        table.c.status_code,
        table.c.response_body,
        table.c.response_headers,
    ).where(where, sa.not_(_expired(table, ttl)))
    return (await session.execute(query)).one_or_none()


def _replay(stored: sa.Row[Any, Any, Any, Any], digest: bytes) -> Claim:
    if stored.fingerprint != digest:
        raise IdempotencyKeyReused(
            "Use a new key for a new request; reuse a key only to retry the same request."
        )
    if stored.status_code is None:
        raise IdempotencyKeyUnanswered("Retry with a new key.")
    return Claim(Replay(stored.status_code, stored.response_body, stored.response_headers or {}))


async def purge(
    connection: AsyncSession | AsyncConnection, table: sa.Table, *, ttl: timedelta = DEFAULT_TTL
) -> int:
    """Delete expired keys (maintenance); returns how many. The caller commits."""
    gone = sa.delete(table).where(_expired(table, ttl)).returning(table.c.key).cte("gone")
    deleted = await connection.scalar(sa.select(sa.func.count()).select_from(gone))
    return int(deleted or 0)


def purge_command(table: sa.Table, service: str) -> Command:
    """The `purge-idempotency-keys` command of a service that keeps keys in `table`."""
    published = DEFAULT_TTL / timedelta(hours=1)

    async def purge_older_than(settings: ServiceSettings, hours: float) -> int:
        async with command_session(settings, f"{service}-purge-idempotency-keys") as session:
            return await purge(session, table, ttl=timedelta(hours=hours))

    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--hours",
            type=float,
            default=published,
            help=f"keep keys this long; at least the published {published:g} (the default)",
        )

    def run(settings: ServiceSettings, args: argparse.Namespace) -> None:
        if args.hours < published:
            # Partners were told a retry within this period is safe.
            sys.exit(f"--hours must be at least {published:g}: keys are kept that long")
        gone = asyncio.run(purge_older_than(settings, args.hours))
        logger.info("idempotency keys purged", extra={"count": gone})
        sys.stdout.write(json.dumps({"purged": gone}) + "\n")

    return Command(
        "purge-idempotency-keys",
        f"delete Idempotency-Key records older than {published:g} hours (run it daily)",
        run,
        arguments,
    )
