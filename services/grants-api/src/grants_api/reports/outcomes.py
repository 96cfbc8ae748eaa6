"""The results a grant bought, as cases-api publishes them: suppressed aggregate tables.

grants-api never sees a person. It asks cases-api's statistics (scope `cases:stats`)
for the recipient NGOs and the period, one table per dimension, and copies the
tables' aggregate fields as they came: a suppressed cell stays null and marked, it is
never turned into 0. When cases-api cannot answer, the report says the outcomes are
unavailable, and why, instead of failing or showing zeros.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal

import httpx
from pydantic import ValidationError

from baton.http import QueryParams, ServiceClient, TokenRequestFailed
from grants_api.reports.figures import Period, share_of
from grants_api.reports.schemas import (
    OutcomesAvailable,
    OutcomesUnavailable,
    SecondaryAvailable,
    SecondaryUnavailable,
    StatisticsTable,
)

logger = logging.getLogger("grants_api.reports")

STATISTICS_PATH = "/v1/statistics"
SECONDARY_PATH = "/v1/statistics/secondary-beneficiaries"
DIMENSIONS = ("sex", "age_group", "exploitation_form", "phase", "outcome", "service_type")
SECONDARY_DIMENSION = "sex"
# cases-api counts at most this many organisations in one table.
MAX_ORGANISATIONS = 100
REINTEGRATED = "reintegrated"


class StatisticsUnavailable(Exception):
    """cases-api did not give a table; the message says why, in words a donor reads."""


async def _table(
    client: ServiceClient,
    path: str,
    dimension: str,
    organisation_ids: Sequence[uuid.UUID],
    period: Period,
) -> StatisticsTable:
    params: QueryParams = {
        "dimension": dimension,
        "organisation_id": [str(organisation) for organisation in organisation_ids],
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
    }
    try:
        response = await client.get(path, params=params)
    except TokenRequestFailed as exc:
        raise StatisticsUnavailable("grants-api could not sign in to cases-api") from exc
    except httpx.HTTPError as exc:
        raise StatisticsUnavailable(
            f"cases-api could not be reached ({type(exc).__name__})"
        ) from exc
    if response.status_code != 200:
        raise StatisticsUnavailable(f"cases-api answered {response.status_code}")
    try:
        table = StatisticsTable.model_validate_json(response.content)
    except ValidationError as exc:
        raise StatisticsUnavailable("cases-api sent a table grants-api cannot read") from exc
    if table.dimensions != [dimension] or set(table.organisation_ids) != set(organisation_ids):
        raise StatisticsUnavailable("cases-api sent a table other than the one asked for")
    return table


def reintegrated_share(
    outcome_table: StatisticsTable, persons: int | None
) -> tuple[Decimal | None, str | None]:
    """Reintegrated persons / persons when both are published; else None and why."""
    if persons is None:
        return None, "the number of persons is suppressed"
    if persons == 0:
        return None, "no person was assisted in the period"
    cell = next((c for c in outcome_table.cells if c.values.get("outcome") == REINTEGRATED), None)
    if cell is None:
        return None, "cases-api's outcome table has no `reintegrated` cell"
    if cell.count is None:
        return None, "the number of persons reintegrated is suppressed"
    return share_of(Decimal(cell.count), Decimal(persons)), None


async def _secondary(
    client: ServiceClient, organisation_ids: Sequence[uuid.UUID], period: Period
) -> SecondaryAvailable | SecondaryUnavailable:
    # Asked separately: a cases-api without this table still gives the persons' tables.
    try:
        table = await _table(client, SECONDARY_PATH, SECONDARY_DIMENSION, organisation_ids, period)
    except StatisticsUnavailable as exc:
        logger.warning("secondary beneficiaries unavailable", extra={"reason": str(exc)})
        return SecondaryUnavailable(reason=str(exc))
    return SecondaryAvailable(table=table)


async def outcomes(
    client: ServiceClient | None, organisation_ids: Sequence[uuid.UUID], period: Period
) -> OutcomesAvailable | OutcomesUnavailable:
    """The recipient NGOs' suppressed statistics for the period, or why there are none."""
    if client is None:
        return OutcomesUnavailable(reason="grants-api is not configured to read cases-api")
    if not organisation_ids:
        return OutcomesUnavailable(reason="no recipient organisation to count persons for")
    if len(organisation_ids) > MAX_ORGANISATIONS:
        return OutcomesUnavailable(
            reason=f"cases-api counts at most {MAX_ORGANISATIONS} organisations in one table"
        )
    # The tables are independent queries: asked at once, a report waits for the slowest
    # rather than for their sum.
    asked = [
        _table(client, STATISTICS_PATH, dimension, organisation_ids, period)
        for dimension in DIMENSIONS
    ]
    try:
        tables, secondary = await asyncio.gather(
            asyncio.gather(*asked), _secondary(client, organisation_ids, period)
        )
    except StatisticsUnavailable as exc:
        logger.warning("outcomes unavailable", extra={"reason": str(exc)})
        return OutcomesUnavailable(reason=str(exc))
    # `persons` counts distinct people and is the same in every table of the period.
    persons = tables[0].persons
    share, reason = reintegrated_share(tables[DIMENSIONS.index("outcome")], persons)
    return OutcomesAvailable(
        organisation_ids=list(organisation_ids),
        persons=persons,
        reintegrated_share=share,
        reintegrated_share_reason=reason,
        tables=tables,
        secondary_beneficiaries=secondary,
    )
