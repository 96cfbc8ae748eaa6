"""De-identified statistics: the only path from victims' data to donors.

Counts of persons over one or two fixed dimensions, for a set of organisations
and a period; no free-form filter could narrow them to one person. Small cells
are suppressed, with complementary suppression, and the answer says so.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from baton.auth import Principal
from baton.authz import Authorize, Forbidden, Permission
from baton.db import SessionDep
from baton.errors import problem_responses
from cases_api.config import CasesSettings
from cases_api.statistics import service
from cases_api.statistics.exceptions import InvalidStatisticsRequest
from cases_api.statistics.schemas import Dimension, StatisticsTable

StatisticsReader = Annotated[Principal, Authorize(Permission.stats_read)]
MAX_ORGANISATIONS = 100
MAX_YEARS = 50

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


@router.get(
    "",
    response_model=StatisticsTable,
    responses=problem_responses(Forbidden, InvalidStatisticsRequest),
)
async def read_statistics(
    request: Request,
    session: SessionDep,
    principal: StatisticsReader,
    period_start: Annotated[date, Query(description="First day counted")],
    period_end: Annotated[date, Query(description="Last day counted")],
    dimension: Annotated[
        list[Dimension], Query(min_length=1, max_length=2, description="One or two")
    ],
    organisation_id: Annotated[
        list[uuid.UUID] | None,
        Query(
            max_length=MAX_ORGANISATIONS,
            description="Whose persons; NGO managers: their own only (the default)",
        ),
    ] = None,
) -> StatisticsTable:
    """Persons assisted, counted over fixed dimensions, small cells suppressed.

    Readers: the grants service (scope `cases:stats`) and platform staff for any
    organisations they name; an NGO's case managers for their own.
    """
    if len(set(dimension)) != len(dimension):
        raise InvalidStatisticsRequest("Name two different dimensions.")
    if period_end < period_start or period_end.year - period_start.year > MAX_YEARS:
        raise InvalidStatisticsRequest(
            f"The period must run forward and span at most {MAX_YEARS} years."
        )
    organisations = service.allowed_organisations(principal, organisation_id or [])
    settings: CasesSettings = request.app.state.settings
    return await service.table(
        session, organisations, period_start, period_end, dimension, settings.statistics_threshold
    )
