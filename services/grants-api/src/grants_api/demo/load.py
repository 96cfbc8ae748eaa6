"""Loading the demo programme (`python -m grants_api seed-demo`), as the runtime role.

One transaction. Row-level security is forced and checks every row: the programme
is written bound to the foundation that manages it, then each NGO's grants, their
money flows and reports, and its funding mix, bound to that NGO (a party to every
one of its grants). Every text is screened as the API screens what people send.
Loading twice adds nothing: if the programme's fixed id is there, nothing is
written; a funding year an NGO already keeps for itself stays as it is.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from baton.stack.programme import FOUNDATION
from baton.tenancy import bind_tenant
from grants_api.config import GrantsSettings
from grants_api.db import load_models, metadata
from grants_api.demo.funding import Row
from grants_api.demo.programme import PARTNER_TABLES, DemoGrants, PartnerRows, generate
from grants_api.funding.models import FundingYear
from grants_api.programmes.models import Programme
from grants_api.screening import identifier_kind

logger = logging.getLogger("grants_api.demo")
BATCH = 1_000


@dataclass(frozen=True)
class LoadReport:
    programmes: int
    grants: int
    funding_years: int


class DemoTextRefused(RuntimeError):
    """A demo text looks like it holds a personal identifier: the demo is wrong, not the data."""


def check_texts(data: DemoGrants) -> None:
    """Every text of the demo passes the identifier screen the API applies."""
    for table in ("programme", *PARTNER_TABLES):
        for row in data.rows(table):
            for column, value in row.items():
                if isinstance(value, str) and identifier_kind(value) is not None:
                    raise DemoTextRefused(f"{table}.{column} of {row.get('id')} looks identifying")


async def _insert(session: AsyncSession, table: str, rows: Sequence[Row]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(metadata.tables[table]), list(rows[start : start + BATCH]))


async def _load_partner(session: AsyncSession, partner: PartnerRows) -> int:
    """The NGO's grants and funding mix; the number of funding years added."""
    organisation = partner.organisation.id
    await bind_tenant(session, organisation)
    kept = set(
        await session.scalars(
            select(col(FundingYear.year)).where(col(FundingYear.organisation_id) == organisation)
        )
    )
    for table in PARTNER_TABLES:
        rows = partner.tables[table]
        if table.startswith("funding_"):
            rows = [row for row in rows if row["year"] not in kept]
        await _insert(session, table, rows)
    return sum(row["year"] not in kept for row in partner.tables["funding_year"])


async def _programme_loaded(session: AsyncSession, programme_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(col(Programme.id) == programme_id))))


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: GrantsSettings,
    programme: DemoGrants | None = None,
) -> LoadReport:
    """Load the demo programme unless it is there; returns what was added."""
    load_models()
    data = programme or generate(settings)
    check_texts(data)
    started = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        await bind_tenant(session, FOUNDATION.id)
        if await _programme_loaded(session, data.programme["id"]):
            return LoadReport(0, 0, 0)
        await _insert(session, "programme", [data.programme])
        funding_years = 0
        for partner in data.partners:
            funding_years += await _load_partner(session, partner)
    report = LoadReport(1, len(data.rows("grant_award")), funding_years)
    logger.info(
        "demo grants loaded",
        extra={
            "grants": report.grants,
            "funding_years": report.funding_years,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    return report
