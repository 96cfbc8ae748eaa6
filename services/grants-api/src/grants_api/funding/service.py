"""An NGO's funding mix: kept year by year by the NGO, read by the donors that fund it.

Who sees a year is decided twice: in every query here (an NGO names its own
organisation, a donor the NGOs receiving a grant it is a party of) and by row-level
security underneath, so either alone keeps an organisation's mix from strangers.
A donor "funds" an NGO once a grant to it is past its draft: a draft is the donor's
own proposal, which the NGO has not accepted, and must not open the NGO's books.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import OrgKind, Principal
from baton.concurrency import PreconditionFailed, PreconditionRequired, check_version
from baton.db import utcnow
from baton.pagination import InvalidCursor, Page, PageParams
from baton.tenancy import TENANT_SETTING, in_callers_organisation, tenant_filter
from grants_api.funding.exceptions import (
    FundingEntryRepeated,
    FundingMixNotYours,
    FundingYearNotFound,
    FundingYearOutOfRange,
    FundingYearsReversed,
)
from grants_api.funding.models import FundingEntry, FundingYear
from grants_api.funding.schemas import (
    CurrencyTotals,
    FundingEntryRead,
    FundingEntryWrite,
    FundingYearRead,
    FundingYearWrite,
)
from grants_api.grants.models import Grant
from grants_api.screening import screen
from grants_api.vocabulary import FundingKind, FundingSource, GrantStatus

FIRST_YEAR = 1990
YEAR_KEY = "pk_funding_year"
ZERO = Decimal("0.00")
PERCENT = Decimal("100")
SHARE_PLACES = Decimal("0.1")

_ORGANISATION = col(FundingYear.organisation_id)
_YEAR = col(FundingYear.year)
# The organisation the session is bound to (baton.tenancy), as the row-level policies read it.
_BOUND_ORGANISATION = sa.cast(
    sa.func.nullif(sa.func.current_setting(TENANT_SETTING, True), ""), sa.Uuid
)


def _funded_by(viewer: sa.ColumnElement[uuid.UUID]) -> sa.Select[uuid.UUID]:
    """The NGOs receiving a grant, past its draft, that `viewer` is a party of."""
    return select(col(Grant.recipient_organisation_id)).where(
        viewer == sa.any_(col(Grant.party_organisation_ids)),
        col(Grant.status) != GrantStatus.draft,
    )


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """The years the caller may read: an NGO its own, a donor those of the NGOs it funds."""
    if principal.org_kind == OrgKind.ngo:
        return in_callers_organisation(_ORGANISATION, principal)
    return tenant_filter(_ORGANISATION.in_(_funded_by(sa.literal(principal.org_id, sa.Uuid))))


def _visible_to_bound_organisation() -> sa.ColumnElement[bool]:
    return tenant_filter(
        sa.or_(
            _ORGANISATION == _BOUND_ORGANISATION,
            _ORGANISATION.in_(_funded_by(_BOUND_ORGANISATION)),
        )
    )


# Reading ---------------------------------------------------------------------------------


def _totals(entries: Iterable[FundingEntry]) -> dict[str, CurrencyTotals]:
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    by_source: dict[str, dict[FundingSource, Decimal]] = defaultdict(
        lambda: defaultdict(lambda: ZERO)
    )
    for entry in entries:
        by_kind[entry.currency][entry.kind] += entry.amount
        by_source[entry.currency][FundingSource(entry.source)] += entry.amount
    return {
        currency: CurrencyTotals(
            total=sum(kinds.values(), ZERO),
            cash=kinds[FundingKind.cash],
            in_kind=kinds[FundingKind.in_kind],
            by_source=dict(by_source[currency]),
        )
        for currency, kinds in sorted(by_kind.items())
    }


def _share(amount: Decimal, total: Decimal) -> Decimal:
    if not total:
        return Decimal("0.0")
    return (amount * PERCENT / total).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)


def year_read(year: FundingYear, entries: Iterable[FundingEntry]) -> FundingYearRead:
    """The year as the API shows it, its totals and shares computed from its entries."""
    ordered = sorted(entries, key=lambda entry: (entry.currency, entry.source, entry.kind))
    totals = _totals(ordered)
    return FundingYearRead(
        organisation_id=year.organisation_id,
        year=year.year,
        version=year.version,
        updated_at=year.updated_at,
        entries=[FundingEntryRead.model_validate(entry) for entry in ordered],
        totals=totals,
        shares={
            currency: {
                source: _share(amount, money.total) for source, amount in money.by_source.items()
            }
            for currency, money in totals.items()
        },
    )


async def _reads(session: AsyncSession, years: Sequence[FundingYear]) -> list[FundingYearRead]:
    """The years with their entries, fetched in one query."""
    if not years:
        return []
    keys = [(year.organisation_id, year.year) for year in years]
    entries = await session.scalars(
        select(FundingEntry).where(
            tuple_(col(FundingEntry.organisation_id), col(FundingEntry.year)).in_(keys)
        )
    )
    grouped: dict[tuple[uuid.UUID, int], list[FundingEntry]] = defaultdict(list)
    for entry in entries:
        grouped[(entry.organisation_id, entry.year)].append(entry)
    return [year_read(year, grouped[(year.organisation_id, year.year)]) for year in years]


async def get(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, year: int
) -> FundingYearRead:
    """One year the caller may see; 404 alike when it is absent or not the caller's to see."""
    stored = await session.scalar(
        select(FundingYear).where(
            _ORGANISATION == organisation_id, _YEAR == year, visible_to(principal)
        )
    )
    if stored is None:
        raise FundingYearNotFound()
    return (await _reads(session, [stored]))[0]


def _check_years(year_from: int | None, year_to: int | None) -> None:
    if year_from is not None and year_to is not None and year_from > year_to:
        raise FundingYearsReversed(f"year_from {year_from} comes after year_to {year_to}.")


def _encode_cursor(year: FundingYear) -> str:
    raw = json.dumps([str(year.organisation_id), year.year]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[uuid.UUID, int]:
    try:
        organisation, year = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(year, int):
            raise TypeError("year")
        return uuid.UUID(organisation), year
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc


async def list_years(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    organisation_id: uuid.UUID | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
) -> Page[FundingYearRead]:
    """The years the caller may see, by organisation then year, a cursor page at a time."""
    _check_years(year_from, year_to)
    query = select(FundingYear).where(visible_to(principal))
    if organisation_id is not None:
        query = query.where(_ORGANISATION == organisation_id)
    if year_from is not None:
        query = query.where(_YEAR >= year_from)
    if year_to is not None:
        query = query.where(_YEAR <= year_to)
    if params.cursor is not None:
        after_organisation, after_year = _decode_cursor(params.cursor)
        query = query.where(
            tuple_(_ORGANISATION, _YEAR)
            > tuple_(sa.literal(after_organisation, sa.Uuid), sa.literal(after_year))
        )
    query = query.order_by(_ORGANISATION, _YEAR).limit(params.limit + 1)
    rows = (await session.scalars(query)).all()
    page = rows[: params.limit]
    more = len(rows) > params.limit
    return Page(
        items=await _reads(session, page),
        next_cursor=_encode_cursor(page[-1]) if more else None,
    )


@dataclass(frozen=True)
class FundingLine:
    """One entry of a year's funding mix, as a donor report lists it."""

    organisation_id: uuid.UUID
    year: int
    source: str
    kind: str
    amount: Decimal
    currency: str


async def funding_lines(
    session: AsyncSession,
    organisation_ids: Sequence[uuid.UUID],
    year_from: int,
    year_to: int,
) -> list[FundingLine]:
    """The funding mix of these NGOs from `year_from` to `year_to` (both included), for a
    donor report: each entry, ordered by organisation and year.

    `session` must be bound to the caller's organisation (`TenantSessionDep`): only the
    years that organisation may see come back, its own and those of the NGOs it funds
    through a grant past its draft, checked here as well as by row-level security. Years
    without a stored mix, and NGOs the caller may not see, are simply absent. Not paged:
    the caller bounds the list by the organisations and years it asks for. Columns, not
    records: a report reads every entry of every recipient, and needs no totals.
    """
    _check_years(year_from, year_to)
    if not organisation_ids:
        return []
    entry = FundingEntry
    rows = await session.execute(
        select(
            col(entry.organisation_id),
            col(entry.year),
            col(entry.source),
            col(entry.kind),
            col(entry.amount),
            col(entry.currency),
        )
        .join(FundingYear, sa.and_(_ORGANISATION == entry.organisation_id, _YEAR == entry.year))
        .where(
            _ORGANISATION.in_(list(organisation_ids)),
            _YEAR >= year_from,
            _YEAR <= year_to,
            _visible_to_bound_organisation(),
        )
        .order_by(_ORGANISATION, _YEAR)
    )
    return [FundingLine(*row) for row in rows]


# Writing ---------------------------------------------------------------------------------


def _check_year(year: int) -> None:
    last = utcnow().year + 1
    if not FIRST_YEAR <= year <= last:
        raise FundingYearOutOfRange(f"The year must lie between {FIRST_YEAR} and {last}.")


def _check_distinct(entries: Sequence[FundingEntryWrite]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(entries):
        key = (entry.source, entry.kind, entry.currency)
        if key in seen:
            raise FundingEntryRepeated(
                f"entries[{index}] repeats source, kind and currency of an earlier entry; "
                "add the amounts up in one entry."
            )
        seen.add(key)


def _violated_constraint(error: IntegrityError) -> str | None:
    # SQLAlchemy's asyncpg adapter keeps asyncpg's own error as the cause.
    name = getattr(getattr(error.orig, "__cause__", None), "constraint_name", None)
    return name if isinstance(name, str) else None


async def _new_year(session: AsyncSession, principal: Principal, year: int) -> FundingYear:
    stored = FundingYear(organisation_id=principal.org_id, year=year, updated_by=principal.subject)
    session.add(stored)
    try:
        await session.flush()
    except IntegrityError as error:
        if _violated_constraint(error) != YEAR_KEY:
            raise
        # Two first saves of one year at once: the other won; this one must not overwrite it.
        raise PreconditionFailed(
            "Someone saved this year at the same moment; read it and send your change "
            "with its ETag in If-Match."
        ) from error
    return stored


async def replace(
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    year: int,
    data: FundingYearWrite,
    version: int | None,
) -> tuple[FundingYearRead, bool]:
    """Store the caller's own year as a whole; True when the year was created.

    An existing year is replaced only with `version` (If-Match) equal to its own; a new
    one needs none. Checks come before any write, so a refusal leaves the year as it was.
    """
    if organisation_id != principal.org_id:
        raise FundingMixNotYours("Send your own organisation's id.")
    _check_year(year)
    _check_distinct(data.entries)
    screen({f"entries[{index}].description": e.description for index, e in enumerate(data.entries)})
    # Locked, so two replacements based on the same version cannot both pass the check.
    stored = await session.scalar(
        select(FundingYear)
        .where(_ORGANISATION == principal.org_id, _YEAR == year)
        .with_for_update()
    )
    created = stored is None
    if stored is None:
        if version is not None:
            raise PreconditionFailed("This year has no mix yet: send it without If-Match.")
        stored = await _new_year(session, principal, year)
    else:
        if version is None:
            raise PreconditionRequired("This year exists: send its ETag in If-Match.")
        check_version(version, stored.version)
        await session.execute(
            delete(FundingEntry).where(
                col(FundingEntry.organisation_id) == principal.org_id,
                col(FundingEntry.year) == year,
            )
        )
        stored.version += 1
        stored.updated_by = principal.subject
        stored.updated_at = utcnow()
    entries = [
        FundingEntry(
            organisation_id=principal.org_id,
            year=year,
            source=entry.source.value,
            kind=entry.kind.value,
            amount=entry.amount,
            currency=entry.currency,
            description=entry.description,
        )
        for entry in data.entries
    ]
    session.add_all(entries)
    await session.flush()
    return year_read(stored, entries), created
