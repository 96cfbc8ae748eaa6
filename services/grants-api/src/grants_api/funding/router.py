"""HTTP endpoints of the funding mix: an NGO keeps where its money comes from, year by
year; the donors that fund it follow its path to sustainability."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from baton.concurrency import (
    OptionalIfMatch,
    PreconditionFailed,
    PreconditionRequired,
    set_etag,
)
from baton.errors import problem_responses
from baton.pagination import InvalidCursor, Page
from baton.tenancy import TenantSessionDep
from grants_api.access import GrantReader, ReportSubmitter
from grants_api.dependencies import Params
from grants_api.exceptions import IdentifierInText
from grants_api.funding import service
from grants_api.funding.exceptions import (
    FundingEntryRepeated,
    FundingMixNotYours,
    FundingYearNotFound,
    FundingYearOutOfRange,
    FundingYearsReversed,
)
from grants_api.funding.schemas import FundingYearRead, FundingYearWrite

router = APIRouter(prefix="/v1/funding-mix", tags=["funding mix"])
# Bounded so that no year reaches the database as an integer it cannot hold.
CalendarYear = Annotated[int, Path(ge=1, le=9999, description="A calendar year")]


@router.get(
    "",
    response_model=Page[FundingYearRead],
    responses=problem_responses(FundingYearsReversed, InvalidCursor),
)
async def list_funding_years(
    session: TenantSessionDep,
    principal: GrantReader,
    params: Params,
    organisation_id: Annotated[uuid.UUID | None, Query(description="Only this NGO's years")] = None,
    year_from: Annotated[
        int | None, Query(ge=1, le=9999, description="From this year, included")
    ] = None,
    year_to: Annotated[
        int | None, Query(ge=1, le=9999, description="Up to this year, included")
    ] = None,
) -> Page[FundingYearRead]:
    """The funding years you may see, by organisation then year, with totals and shares.

    An NGO sees its own; a donor those of the NGOs it funds (a grant to them, past its
    draft, that the donor is a party of): the path of each partner over the years.
    Cursor pages of at most 100 years (`limit`, default 50).
    """
    return await service.list_years(
        session,
        principal,
        params,
        organisation_id=organisation_id,
        year_from=year_from,
        year_to=year_to,
    )


@router.get(
    "/{organisation_id}/{year}",
    response_model=FundingYearRead,
    responses=problem_responses(FundingYearNotFound),
)
async def read_funding_year(
    organisation_id: uuid.UUID,
    year: CalendarYear,
    session: TenantSessionDep,
    principal: GrantReader,
    response: Response,
) -> FundingYearRead:
    """One NGO's year: its entries, totals and shares per currency, and the ETag a
    replacement needs in If-Match. A year you may not see is not found, as a missing one."""
    funding_year = await service.get(session, principal, organisation_id, year)
    set_etag(response, funding_year.version)
    return funding_year


@router.put(
    "/{organisation_id}/{year}",
    response_model=FundingYearRead,
    responses={
        201: {"description": "The year was created", "model": FundingYearRead},
        **problem_responses(
            FundingMixNotYours,
            FundingYearOutOfRange,
            FundingEntryRepeated,
            IdentifierInText,
            PreconditionRequired,
            PreconditionFailed,
        ),
    },
)
async def replace_funding_year(
    organisation_id: uuid.UUID,
    year: CalendarYear,
    data: FundingYearWrite,
    session: TenantSessionDep,
    principal: ReportSubmitter,
    version: OptionalIfMatch,
    response: Response,
) -> FundingYearRead:
    """Store your organisation's funding mix for a year (1990 to next year), as a whole.

    The first save creates the year (201) and needs no If-Match; later ones replace
    all its entries (200) and need the year's ETag in If-Match, so two people editing
    the year at once cannot overwrite each other. Descriptions name what the money
    or goods were, never a person.
    """
    funding_year, created = await service.replace(
        session, principal, organisation_id, year, data, version
    )
    if created:
        response.status_code = 201
    set_etag(response, funding_year.version)
    return funding_year
