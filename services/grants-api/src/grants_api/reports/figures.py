"""A donor report's figures, taken from the services that keep them: the grants' money
(`finances.summary`), the recipients' funding mix (`funding.service`) and the grants'
reporting compliance (`reporting.service`), put in the report's shape.

Every query runs in the caller's session, so row-level security shows only what the
caller's organisation may see; amounts are summed per grant in its own currency and
never added across currencies.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from grants_api.finances.schemas import PeriodFinances
from grants_api.finances.summary import finances_of_each, summed
from grants_api.funding import service as funding_service
from grants_api.grants.models import Grant
from grants_api.grants.service import funders_of
from grants_api.reporting import service as reporting_service
from grants_api.reports.schemas import (
    CategoryFigures,
    FunderFigures,
    GrantFigures,
    MoneyFigures,
    ReportCompliance,
    ReportCurrencyTotals,
    ReportFinances,
    ReportFundingLine,
    ReportFundingYear,
    ReportRequirement,
)

SHARE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Period:
    start: date
    end: date


def share_of(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if not whole:
        return None
    return (part / whole).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)


# Money of grants ------------------------------------------------------------------------


def _money(
    figures: PeriodFinances, awarded: Decimal | None, funders: Mapping[uuid.UUID, Decimal]
) -> MoneyFigures:
    """The report's money figures of one grant, or of the grants of one currency.

    `awarded` is None while nothing is awarded; `funders` are the funders' shares.
    """
    assert figures.currency is not None  # figures of at least one grant
    return MoneyFigures(
        currency=figures.currency,
        awarded=awarded,
        disbursed_in_period=figures.disbursed,
        disbursed_to_date=figures.disbursed_to_date,
        spent_in_period=figures.spent,
        spent_to_date=figures.spent_to_date,
        remaining_to_disburse=None if awarded is None else awarded - figures.disbursed_to_date,
        balance=figures.disbursed_to_date - figures.spent_to_date,
        by_category=[
            CategoryFigures(
                category=line.category.value,
                budgeted=line.budgeted,
                spent_in_period=line.spent,
                spent_to_date=line.spent_to_date,
                remaining=line.budgeted - line.spent_to_date,
            )
            for line in figures.by_category
        ],
        funders=[
            FunderFigures(
                organisation_id=organisation, amount=amount, share=share_of(amount, awarded)
            )
            for organisation, amount in sorted(
                funders.items(), key=lambda item: (-item[1], item[0])
            )
        ],
    )


async def finances(
    session: AsyncSession, grants: Sequence[Grant], period: Period
) -> ReportFinances:
    """Each grant's money in and up to the period, and the grants' totals per currency."""
    each = await finances_of_each(session, grants, period.start, period.end)
    funders = await funders_of(session, [grant.id for grant in grants])
    shares = {
        grant_id: {funder.organisation_id: funder.amount for funder in rows}
        for grant_id, rows in funders.items()
    }
    rows = [
        GrantFigures(
            **dict(_money(figures, grant.amount_awarded, shares[grant.id])),
            grant_id=grant.id,
            identifier=grant.identifier,
            title=grant.title,
            status=grant.status,
            recipient_organisation_id=grant.recipient_organisation_id,
        )
        for grant, figures in zip(grants, each, strict=True)
    ]
    by_currency: dict[str, list[tuple[Grant, PeriodFinances]]] = defaultdict(list)
    for grant, figures in zip(grants, each, strict=True):
        by_currency[grant.currency].append((grant, figures))
    return ReportFinances(
        grants=rows,
        totals=[
            _currency_totals(pairs, shares, period) for _, pairs in sorted(by_currency.items())
        ],
    )


def _currency_totals(
    pairs: list[tuple[Grant, PeriodFinances]],
    shares: Mapping[uuid.UUID, Mapping[uuid.UUID, Decimal]],
    period: Period,
) -> ReportCurrencyTotals:
    total = summed([figures for _, figures in pairs], period.start, period.end)
    awarded = any(grant.amount_awarded is not None for grant, _ in pairs)
    funders: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for grant, _ in pairs:
        for organisation, amount in shares[grant.id].items():
            funders[organisation] += amount
    return ReportCurrencyTotals(
        **dict(_money(total, total.awarded if awarded else None, funders)), grants=len(pairs)
    )


# The recipients' funding mix --------------------------------------------------------------


async def funding_mix(
    session: AsyncSession, organisation_ids: Sequence[uuid.UUID], period: Period
) -> list[ReportFundingYear]:
    """The organisations' funding in the period's years, as far as the caller may read it:
    the years with at least one entry, each entry by source, kind and currency."""
    lines = await funding_service.funding_lines(
        session, organisation_ids, period.start.year, period.end.year
    )
    return [
        ReportFundingYear(
            organisation_id=organisation_id,
            year=year,
            lines=[
                ReportFundingLine(
                    source=line.source, kind=line.kind, amount=line.amount, currency=line.currency
                )
                for line in sorted(
                    entries, key=lambda line: (line.source, line.kind, line.currency)
                )
            ],
        )
        for (organisation_id, year), entries in groupby(
            lines, key=lambda line: (line.organisation_id, line.year)
        )
    ]


# Reporting compliance ---------------------------------------------------------------------


async def compliance(session: AsyncSession, grants: Sequence[Grant]) -> ReportCompliance:
    """The grants' reporting requirements today (UTC): counts per status and one item each."""
    today = reporting_service.today_utc()
    standing = await reporting_service.compliance(session, [grant.id for grant in grants], today)
    return ReportCompliance(
        **standing.model_dump(exclude={"items"}),
        today=today,
        items=[
            ReportRequirement.model_validate(item, from_attributes=True) for item in standing.items
        ],
    )
