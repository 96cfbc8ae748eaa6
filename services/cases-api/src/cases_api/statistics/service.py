"""Statistics: aggregates from the SECURITY DEFINER functions, suppressed before they leave.

The database returns counts per cell for the organisations asked about; this
module fills in the fixed categories (absent cells are true zeros), suppresses
small cells with complementary suppression, and says what was suppressed. Persons
assisted and their family members take the same path, each from its own function.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import OrgKind, Principal
from baton.authz import Forbidden
from cases_api.secondary.schemas import Relationship
from cases_api.statistics.cache import Counts, CountsCache, CountsKey
from cases_api.statistics.schemas import (
    MULTI_VALUED,
    AnyDimension,
    Dimension,
    SecondaryDimension,
    StatisticsCell,
    StatisticsMargin,
    StatisticsTable,
    Unit,
)
from cases_api.statistics.suppression import Cell, suppress
from cases_api.vocabulary import (
    AgeGroup,
    CaseOutcome,
    ExploitationForm,
    Phase,
    ServiceType,
    Sex,
)


@dataclass(frozen=True)
class Source:
    """One aggregate function of the database, what it counts and its fixed vocabularies."""

    function: str  # (organisations, start, end, dimension_a, dimension_b) -> counts
    unit: Unit
    categories: Mapping[str, tuple[str, ...]]  # dimension -> every value, in order


PERSONS = Source(
    "case_statistics",
    "persons",
    {
        Dimension.sex: tuple(Sex),
        Dimension.age_group: tuple(AgeGroup),
        Dimension.exploitation_form: tuple(ExploitationForm),
        Dimension.phase: tuple(Phase),
        Dimension.outcome: tuple(CaseOutcome),
        Dimension.service_type: tuple(ServiceType),
    },
)
SECONDARY_BENEFICIARIES = Source(
    "secondary_statistics",
    "secondary_beneficiaries",
    {
        SecondaryDimension.relationship: tuple(Relationship),
        SecondaryDimension.sex: tuple(Sex),
        SecondaryDimension.age_group: tuple(AgeGroup),
    },
)


def allowed_organisations(principal: Principal, asked: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The organisations the caller may have statistics of; refuses any other."""
    across = principal.org_kind is OrgKind.platform or "cases:stats" in principal.scopes
    if across:
        if not asked:
            raise Forbidden("Name the organisations (organisation_id) to count.")
        return sorted(set(asked))
    if any(org != principal.org_id for org in asked):
        raise Forbidden("Statistics of other organisations are not yours to read.")
    return [principal.org_id]


def _categories(
    source: Source, dimension: AnyDimension, observed: set[str], start: date, end: date
) -> list[str]:
    if dimension in source.categories:
        return list(source.categories[dimension])
    if dimension == "year":  # a case still open may have started before the period
        first = min([start.year, *(int(year) for year in observed)])
        return [str(year) for year in range(first, end.year + 1)]
    return sorted(observed)  # nationalities, countries: the ones that occur


async def _counts(
    session: AsyncSession,
    cache: CountsCache,
    source: Source,
    organisations: list[uuid.UUID],
    start: date,
    end: date,
    dimensions: Sequence[str],
) -> Counts:
    second = dimensions[1] if len(dimensions) > 1 else "none"

    async def count() -> Counts:
        rows = await session.execute(
            select(
                getattr(func, source.function)(
                    organisations, start, end, dimensions[0], second
                ).table_valued("value_a", "value_b", "persons")
            )
        )
        return {(row.value_a, row.value_b): int(row.persons) for row in rows}

    key = CountsKey(source.function, tuple(organisations), start, end, (dimensions[0], second))
    return await cache.counts(session, key, count)


async def table(
    session: AsyncSession,
    cache: CountsCache,
    source: Source,
    organisations: list[uuid.UUID],
    start: date,
    end: date,
    dimensions: Sequence[AnyDimension],
    threshold: int,
) -> StatisticsTable:
    """The suppressed table of `source` over one or two of its dimensions."""
    dimension_names = [d.value for d in dimensions]
    raw = await _counts(session, cache, source, organisations, start, end, dimension_names)
    persons_raw = await _counts(session, cache, source, organisations, start, end, ["none"])
    persons = sum(persons_raw.values())
    width = len(dimensions)
    counts: dict[Cell, int] = {key[:width]: value for key, value in raw.items()}
    categories = [
        _categories(source, dim, {key[index] for key in counts}, start, end)
        for index, dim in enumerate(dimensions)
    ]
    result = suppress([d.value for d in dimensions], counts, categories, threshold)
    cells = [
        StatisticsCell(
            values={dim.value: value for dim, value in zip(dimensions, cell, strict=True)},
            count=count,
            suppressed=(
                "primary"
                if cell in result.primary
                else "complementary"
                if cell in result.complementary
                else None
            ),
        )
        for cell, count in result.cells.items()
    ]
    margins = [
        StatisticsMargin(
            dimension=dimensions[index], value=value, count=count, suppressed=count is None
        )
        for (index, value), count in result.margins.items()
    ]
    return StatisticsTable(
        organisation_ids=organisations,
        period_start=start,
        period_end=end,
        dimensions=list(dimensions),
        unit=source.unit,
        multi_valued=[d for d in dimensions if isinstance(d, Dimension) and d in MULTI_VALUED],
        threshold=threshold,
        cells=cells,
        margins=margins,
        total=result.total,
        persons=persons if persons == 0 or persons >= threshold else None,
        suppressed_cells=len(result.primary) + len(result.complementary),
        suppressed_margins=len(result.suppressed_margins),
    )
