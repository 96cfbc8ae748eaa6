"""De-identified statistics: the only path from victims' data to donors.

Counts of persons, or of their family members, over one or two fixed dimensions,
for a set of organisations and a period; no free-form filter could narrow them to
one person. Small cells are suppressed, with complementary suppression, and the
answer says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import Principal
from baton.authz import Authorize, Forbidden, Permission
from baton.db import SessionDep
from baton.errors import problem_responses
from cases_api.config import CasesSettings
from cases_api.statistics import service
from cases_api.statistics.cache import CountsCache
from cases_api.statistics.exceptions import InvalidStatisticsRequest
from cases_api.statistics.schemas import (
    AnyDimension,
    Dimension,
    SecondaryDimension,
    StatisticsTable,
)

StatisticsReader = Annotated[Principal, Authorize(Permission.stats_read)]
MAX_ORGANISATIONS = 100
MAX_YEARS = 50

PeriodStart = Annotated[date, Query(description="First day counted")]
PeriodEnd = Annotated[date, Query(description="Last day counted")]
Organisations = Annotated[
    list[uuid.UUID] | None,
    Query(
        max_length=MAX_ORGANISATIONS,
        description="Whose persons; NGO managers: their own only (the default)",
    ),
]
RESPONSES = problem_responses(Forbidden, InvalidStatisticsRequest)

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


@router.get("", response_model=StatisticsTable, responses=RESPONSES)
async def read_statistics(
    request: Request,
    session: SessionDep,
    principal: StatisticsReader,
    period_start: PeriodStart,
    period_end: PeriodEnd,
    dimension: Annotated[
        list[Dimension], Query(min_length=1, max_length=2, description="One or two")
    ],
    organisation_id: Organisations = None,
) -> StatisticsTable:
    """Persons assisted, counted over fixed dimensions, small cells suppressed.

    Readers: the grants service (scope `cases:stats`) and platform staff for any
    organisations they name; an NGO's case managers for their own.
    """
    return await _table(
        request,
        session,
        principal,
        service.PERSONS,
        period_start,
        period_end,
        dimension,
        organisation_id,
    )


@router.get("/secondary-beneficiaries", response_model=StatisticsTable, responses=RESPONSES)
async def read_secondary_statistics(
    request: Request,
    session: SessionDep,
    principal: StatisticsReader,
    period_start: PeriodStart,
    period_end: PeriodEnd,
    dimension: Annotated[
        list[SecondaryDimension], Query(min_length=1, max_length=2, description="One or two")
    ],
    organisation_id: Organisations = None,
) -> StatisticsTable:
    """Family members assisted (secondary beneficiaries), counted like persons.

    A family member counts when their primary beneficiary has a case active in the
    period; `year` is the year that case started. Same readers, same suppression.
    """
    return await _table(
        request,
        session,
        principal,
        service.SECONDARY_BENEFICIARIES,
        period_start,
        period_end,
        dimension,
        organisation_id,
    )


async def _table(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    source: service.Source,
    period_start: date,
    period_end: date,
    dimension: Sequence[AnyDimension],
    organisation_id: list[uuid.UUID] | None,
) -> StatisticsTable:
    if len(set(dimension)) != len(dimension):
        raise InvalidStatisticsRequest("Name two different dimensions.")
    if period_end < period_start or period_end.year - period_start.year > MAX_YEARS:
        raise InvalidStatisticsRequest(
            f"The period must run forward and span at most {MAX_YEARS} years."
        )
    organisations = service.allowed_organisations(principal, organisation_id or [])
    settings: CasesSettings = request.app.state.settings
    cache: CountsCache = request.app.state.statistics_cache
    return await service.table(
        session,
        cache,
        source,
        organisations,
        period_start,
        period_end,
        dimension,
        settings.statistics_threshold,
    )
