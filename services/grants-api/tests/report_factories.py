"""Rows a donor report sums, written straight into the grants database as the superuser:
a programme, disbursements, a budget, expenditure, reporting requirements, funding."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import asyncpg


async def insert_programme(
    superuser: asyncpg.Connection,
    manager: uuid.UUID,
    co_funders: list[uuid.UUID],
    *,
    name: str = "Re/integration in the Balkans",
    period_start: date = date(2011, 1, 1),
    period_end: date = date(2012, 12, 31),
    currency: str = "EUR",
) -> uuid.UUID:
    programme_id = uuid.uuid4()
    await superuser.execute(
        """
        INSERT INTO programme (
            id, managing_organisation_id, funder_organisation_ids, name, description,
            countries, period_start, period_end, currency, version, created_by,
            created_at, updated_at)
        VALUES ($1, $2, $3, $4, 'Shelter and jobs', '{AL,XK}', $5, $6, $7, 1, 'test',
                now(), now())
        """,
        programme_id,
        manager,
        [manager, *co_funders],
        name,
        period_start,
        period_end,
        currency,
    )
    return programme_id


async def insert_disbursement(
    superuser: asyncpg.Connection, grant_id: uuid.UUID, amount: str, disbursed_on: date
) -> None:
    await superuser.execute(
        """
        INSERT INTO disbursement (id, grant_id, disbursed_on, amount, created_by, created_at)
        VALUES ($1, $2, $3, $4, 'test', now())
        """,
        uuid.uuid4(),
        grant_id,
        disbursed_on,
        Decimal(amount),
    )


async def insert_budget(superuser: asyncpg.Connection, grant_id: uuid.UUID, **lines: str) -> None:
    for category, amount in lines.items():
        await superuser.execute(
            "INSERT INTO budget_line (id, grant_id, category, amount) VALUES ($1, $2, $3, $4)",
            uuid.uuid4(),
            grant_id,
            category,
            Decimal(amount),
        )


async def insert_expenditure(
    superuser: asyncpg.Connection,
    grant_id: uuid.UUID,
    category: str,
    amount: str,
    period_start: date,
    period_end: date,
) -> None:
    await superuser.execute(
        """
        INSERT INTO expenditure (id, grant_id, category, period_start, period_end, amount,
                                 reported_by, reported_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'test', now())
        """,
        uuid.uuid4(),
        grant_id,
        category,
        period_start,
        period_end,
        Decimal(amount),
    )


async def insert_requirement(
    superuser: asyncpg.Connection,
    grant_id: uuid.UUID,
    kind: str,
    due_on: date,
    status: str,
    submitted_at: datetime | None = None,
) -> uuid.UUID:
    """A reporting requirement and, when `submitted_at` is given, its first submission."""
    requirement_id = uuid.uuid4()
    await superuser.execute(
        """
        INSERT INTO reporting_requirement (id, grant_id, kind, due_on, status, version,
                                           submitted_at, created_at)
        VALUES ($1, $2, $3, $4, $5, 1, $6, now())
        """,
        requirement_id,
        grant_id,
        kind,
        due_on,
        status,
        submitted_at,
    )
    if submitted_at is not None:
        await superuser.execute(
            """
            INSERT INTO report_submission (id, requirement_id, grant_id, period_start,
                                           period_end, narrative, figures, submitted_by,
                                           submitted_at)
            VALUES ($1, $2, $3, $4, $4, 'Work went on as planned', '{}', 'test', $5)
            """,
            uuid.uuid4(),
            requirement_id,
            grant_id,
            due_on,
            submitted_at,
        )
    return requirement_id


async def insert_funding(
    superuser: asyncpg.Connection,
    organisation_id: uuid.UUID,
    year: int,
    *lines: tuple[str, str, str],
    currency: str = "EUR",
) -> None:
    """One NGO's year: `(source, kind, amount)` lines."""
    await superuser.execute(
        """
        INSERT INTO funding_year (organisation_id, year, version, updated_by, updated_at)
        VALUES ($1, $2, 1, 'test', now())
        """,
        organisation_id,
        year,
    )
    for source, kind, amount in lines:
        await superuser.execute(
            """
            INSERT INTO funding_entry (id, organisation_id, year, source, kind, amount, currency)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            uuid.uuid4(),
            organisation_id,
            year,
            source,
            kind,
            Decimal(amount),
            currency,
        )
