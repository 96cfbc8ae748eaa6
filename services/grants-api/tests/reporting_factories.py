"""Reporting requirements and submissions written straight into the database (as the
superuser), the report the tests send, and the requests they send again and again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from baton.testing_issuer import Caller

# A report as an NGO writes one: the work and its results, aggregates only.
REPORT: dict[str, Any] = {
    "period_start": "2011-01-01",
    "period_end": "2011-12-31",
    "narrative": "Shelter and case work went as planned; 42 persons were assisted this year.",
    "figures": {"persons_assisted": 42, "shelter_nights": 1250, "cost_per_night": "18.50"},
}


def today() -> date:
    return datetime.now(UTC).date()


def days_from_today(days: int) -> date:
    return today() + timedelta(days=days)


def requirements_url(grant_id: uuid.UUID) -> str:
    return f"/v1/grants/{grant_id}/reporting-requirements"


def requirement_url(grant_id: uuid.UUID, requirement_id: uuid.UUID | str, tail: str = "") -> str:
    return f"{requirements_url(grant_id)}/{requirement_id}{tail}"


async def insert_requirement(
    superuser: asyncpg.Connection,
    grant_id: uuid.UUID,
    *,
    kind: str = "interim",
    due_on: date | None = None,
    status: str = "due",
    version: int = 1,
    submitted_at: datetime | None = None,
) -> uuid.UUID:
    """A requirement of the grant, due in a month unless told otherwise."""
    requirement_id = uuid.uuid4()
    await superuser.execute(
        """
        INSERT INTO reporting_requirement (id, grant_id, kind, due_on, status, version,
                                           submitted_at, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())
        """,
        requirement_id,
        grant_id,
        kind,
        due_on or days_from_today(30),
        status,
        version,
        submitted_at,
    )
    return requirement_id


async def insert_submission(
    superuser: asyncpg.Connection,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    submitted_at: datetime,
) -> uuid.UUID:
    submission_id = uuid.uuid4()
    await superuser.execute(
        """
        INSERT INTO report_submission (id, requirement_id, grant_id, period_start, period_end,
                                       narrative, figures, submitted_by, submitted_at)
        VALUES ($1, $2, $3, '2011-01-01', '2011-12-31', 'Work done', '{}', 'test', $4)
        """,
        submission_id,
        requirement_id,
        grant_id,
        submitted_at,
    )
    return submission_id


async def post_step(
    grants: httpx.AsyncClient,
    who: Caller,
    url: str,
    version: int | None,
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> httpx.Response:
    """POST with If-Match on `version` (none when None) and an optional Idempotency-Key."""
    extra = {}
    if version is not None:
        extra["if_match"] = f'"{version}"'
    if key is not None:
        extra["idempotency_key"] = key
    return await grants.post(url, json=body, headers=who.with_headers(**extra))


async def submit(
    grants: httpx.AsyncClient,
    who: Caller,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    version: int,
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> httpx.Response:
    url = requirement_url(grant_id, requirement_id, "/submissions")
    return await post_step(grants, who, url, version, REPORT if body is None else body, key)


async def count_rows(superuser: asyncpg.Connection, table: str, requirement_id: uuid.UUID) -> int:
    column = "id" if table == "reporting_requirement" else "requirement_id"
    count: int = await superuser.fetchval(
        f"SELECT count(*) FROM {table} WHERE {column} = $1", requirement_id
    )
    return count
