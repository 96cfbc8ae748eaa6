"""A grant's money: tranches planned and disbursements paid by the managing donor,
the budget it sets by category and the expenditure the recipient NGO reports (the
figures that sum them up are in `finances.summary`).

Every write locks the grant row first, so two requests adding money to one grant
check their caps one after the other and never both slip under them.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.concurrency import check_version
from baton.money import convert, in_cents
from baton.pagination import Page, PageParams, page_of, paginate
from grants_api.access import require_manager, require_recipient, visible_grant
from grants_api.exceptions import GrantNotInStatus, Refused
from grants_api.finances.exceptions import (
    BudgetCategoryRepeated,
    BudgetExceedsAward,
    ConversionIncomplete,
    ConversionMismatch,
    ConversionSameCurrency,
    DisbursementAmountRequired,
    DisbursementExceedsAward,
    ExpenditureOutsideGrantPeriod,
    ExpenditurePeriodInvalid,
    TrancheDisbursed,
    TrancheNotFound,
    TranchesExceedAward,
)
from grants_api.finances.models import BudgetLine, Disbursement, Expenditure, Tranche
from grants_api.finances.schemas import (
    BudgetLineRead,
    BudgetRead,
    BudgetReplace,
    DisbursementCreate,
    DisbursementRead,
    ExpenditureCreate,
    ExpenditureRead,
    TrancheCreate,
    TrancheList,
    TrancheRead,
)
from grants_api.grants.models import Grant
from grants_api.screening import screen
from grants_api.vocabulary import BudgetCategory, GrantStatus

ZERO = Decimal("0.00")
MOVES_MONEY = frozenset({GrantStatus.awarded, GrantStatus.active})
BUDGET_CHANGES = frozenset({GrantStatus.draft, GrantStatus.awarded, GrantStatus.active})
TAKES_EXPENDITURE = MOVES_MONEY
ReadT = TypeVar("ReadT", DisbursementRead, ExpenditureRead)


def _require_status(grant: Grant, allowed: frozenset[GrantStatus], doing: str) -> None:
    if grant.status not in allowed:
        names = " or ".join(status.value for status in GrantStatus if status in allowed)
        raise GrantNotInStatus(f"{doing} needs a grant {names}; this one is {grant.status}.")


async def _managed(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    allowed: frozenset[GrantStatus],
    doing: str,
) -> Grant:
    """The grant, locked, if the caller's organisation manages it and its status allows."""
    grant = await visible_grant(session, principal, grant_id, lock=True)
    require_manager(grant, principal)
    _require_status(grant, allowed, doing)
    return grant


def awarded_of(grant: Grant) -> Decimal:
    """The amount awarded; 0.00 while there is none."""
    return grant.amount_awarded if grant.amount_awarded is not None else ZERO


async def total_of(session: AsyncSession, amount: Any, *where: sa.ColumnElement[bool]) -> Decimal:
    """The sum of `amount` over the rows `where` selects; 0.00 for none."""
    total = await session.scalar(select(func.coalesce(func.sum(amount), 0)).where(*where))
    return in_cents(Decimal(total))


def _within_award(
    grant: Grant, so_far: Decimal, adding: Decimal, refusal: type[Refused], done: str, more: str
) -> None:
    """Refuse `adding` to the `so_far` of the grant's tranches or disbursements past its award."""
    awarded = awarded_of(grant)
    if so_far + adding > awarded:
        raise refusal(
            f"{so_far} of the {awarded} awarded is {done} already; "
            f"at most {awarded - so_far} more {more}."
        )


# Tranches


def tranches_with_paid(
    grant_id: uuid.UUID, *, unpaid_only: bool = False
) -> sa.Select[Tranche, Any]:
    """The grant's tranches by due date, each with what the disbursements naming it paid
    (`unpaid_only`: those paid less than their amount)."""
    paid = (
        select(
            col(Disbursement.tranche_id).label("tranche_id"),
            func.sum(Disbursement.amount).label("paid"),
        )
        .where(col(Disbursement.grant_id) == grant_id, col(Disbursement.tranche_id).is_not(None))
        .group_by(col(Disbursement.tranche_id))
        .subquery()
    )
    paid_so_far = func.coalesce(paid.c.paid, 0)
    query = (
        select(Tranche, paid_so_far.label("paid"))
        .outerjoin(paid, paid.c.tranche_id == col(Tranche.id))
        .where(col(Tranche.grant_id) == grant_id)
        .order_by(col(Tranche.due_on), col(Tranche.created_at), col(Tranche.id))
    )
    return query.where(paid_so_far < col(Tranche.amount)) if unpaid_only else query


def tranche_read(tranche: Tranche, paid: Decimal) -> TrancheRead:
    return TrancheRead(
        id=tranche.id,
        grant_id=tranche.grant_id,
        due_on=tranche.due_on,
        amount=tranche.amount,
        label=tranche.label,
        disbursed=in_cents(Decimal(paid)),
        created_at=tranche.created_at,
    )


async def list_tranches(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID
) -> TrancheList:
    grant = await visible_grant(session, principal, grant_id)
    rows = (await session.execute(tranches_with_paid(grant.id))).all()
    return TrancheList(items=[tranche_read(row[0], row[1]) for row in rows])


async def add_tranche(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, data: TrancheCreate
) -> TrancheRead:
    grant = await _managed(session, principal, grant_id, MOVES_MONEY, "Planning a tranche")
    screen({"label": data.label})
    planned = await total_of(session, col(Tranche.amount), col(Tranche.grant_id) == grant.id)
    _within_award(grant, planned, data.amount, TranchesExceedAward, "planned", "fits")
    tranche = Tranche(
        grant_id=grant.id,
        due_on=data.due_on,
        amount=data.amount,
        label=data.label,
        created_by=principal.subject,
    )
    session.add(tranche)
    await session.flush()
    return tranche_read(tranche, ZERO)


async def remove_tranche(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, tranche_id: uuid.UUID
) -> None:
    """Take a tranche off the plan, unless a disbursement paid it."""
    grant = await _managed(session, principal, grant_id, MOVES_MONEY, "Removing a tranche")
    tranche = await session.scalar(
        select(Tranche).where(col(Tranche.id) == tranche_id, col(Tranche.grant_id) == grant.id)
    )
    if tranche is None:
        raise TrancheNotFound()
    named = select(col(Disbursement.id)).where(col(Disbursement.tranche_id) == tranche.id).exists()
    if await session.scalar(select(named)):
        raise TrancheDisbursed("A disbursement paid it; disbursements are never undone.")
    await session.delete(tranche)
    await session.flush()


# Disbursements and expenditure: rows of the grant, shown in its currency


def _in_currency(read: type[ReadT], grant: Grant, row: Disbursement | Expenditure) -> ReadT:
    return read.model_validate({**row.model_dump(), "currency": grant.currency})


async def _page(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    params: PageParams,
    model: type[Disbursement] | type[Expenditure],
    ordered_by: str,
    read: type[ReadT],
) -> Page[ReadT]:
    """The grant's rows of `model`, a page at a time, in the order of `ordered_by` (a time)."""
    grant = await visible_grant(session, principal, grant_id)
    query = select(model).where(col(model.grant_id) == grant.id)
    rows = (
        await session.scalars(paginate(query, params, getattr(model, ordered_by), col(model.id)))
    ).all()
    items = [_in_currency(read, grant, row) for row in rows]
    return page_of(rows, params, items, ordered_by=ordered_by)


async def list_disbursements(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, params: PageParams
) -> Page[DisbursementRead]:
    return await _page(
        session, principal, grant_id, params, Disbursement, "created_at", DisbursementRead
    )


def _amount_in_grant_currency(grant: Grant, data: DisbursementCreate) -> Decimal:
    """The amount given, or computed from the conversion; they agree to the cent."""
    conversion = (data.paid_amount, data.paid_currency, data.exchange_rate, data.rate_date)
    if all(part is None for part in conversion):
        if data.amount is None:
            raise DisbursementAmountRequired("Give `amount`, or the payment's conversion.")
        return data.amount
    paid, currency, rate = data.paid_amount, data.paid_currency, data.exchange_rate
    if paid is None or currency is None or rate is None or data.rate_date is None:
        raise ConversionIncomplete()
    if currency == grant.currency:
        raise ConversionSameCurrency(f"The grant is in {grant.currency}: give `amount` only.")
    converted = convert(paid, rate)
    if data.amount is not None and data.amount != converted:
        raise ConversionMismatch(
            f"{paid} {currency} at {rate} is {converted} {grant.currency}, not {data.amount}."
        )
    if converted <= 0:
        raise DisbursementAmountRequired("The conversion comes to nothing in the grant's currency.")
    return converted


async def add_disbursement(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, data: DisbursementCreate
) -> DisbursementRead:
    grant = await _managed(session, principal, grant_id, MOVES_MONEY, "Disbursing")
    screen({"reference": data.reference})
    if data.tranche_id is not None:
        tranche = await session.scalar(
            select(col(Tranche.id)).where(
                col(Tranche.id) == data.tranche_id, col(Tranche.grant_id) == grant.id
            )
        )
        if tranche is None:
            raise TrancheNotFound("`tranche_id` names no tranche of this grant.")
    amount = _amount_in_grant_currency(grant, data)
    disbursed = await total_of(
        session, col(Disbursement.amount), col(Disbursement.grant_id) == grant.id
    )
    _within_award(grant, disbursed, amount, DisbursementExceedsAward, "disbursed", "may be")
    row = Disbursement(
        grant_id=grant.id,
        tranche_id=data.tranche_id,
        disbursed_on=data.disbursed_on,
        amount=amount,
        paid_amount=data.paid_amount,
        paid_currency=data.paid_currency,
        exchange_rate=data.exchange_rate,
        rate_date=data.rate_date,
        reference=data.reference,
        created_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    return _in_currency(DisbursementRead, grant, row)


# Budget


async def _budget(session: AsyncSession, grant: Grant) -> BudgetRead:
    rows = (
        await session.scalars(select(BudgetLine).where(col(BudgetLine.grant_id) == grant.id))
    ).all()
    order = list(BudgetCategory)
    lines = sorted(
        (
            BudgetLineRead(
                category=BudgetCategory(row.category),
                amount=row.amount,
                description=row.description,
            )
            for row in rows
        ),
        key=lambda line: order.index(line.category),
    )
    return BudgetRead(
        currency=grant.currency,
        lines=lines,
        total=in_cents(sum((line.amount for line in lines), ZERO)),
        version=grant.budget_version,
    )


async def read_budget(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID
) -> BudgetRead:
    return await _budget(session, await visible_grant(session, principal, grant_id))


async def replace_budget(
    session: AsyncSession,
    principal: Principal,
    grant_id: uuid.UUID,
    data: BudgetReplace,
    version: int,
) -> BudgetRead:
    """Replace every line at once, if the budget is still at `version` (If-Match)."""
    grant = await _managed(session, principal, grant_id, BUDGET_CHANGES, "Changing the budget")
    check_version(version, grant.budget_version)
    categories = [line.category for line in data.lines]
    if len(set(categories)) != len(categories):
        raise BudgetCategoryRepeated("Put everything of one category on one line.")
    screen({f"lines[{i}].description": line.description for i, line in enumerate(data.lines)})
    total = sum((line.amount for line in data.lines), ZERO)
    # A draft without an amount awarded yet has no cap; the award comes later.
    if grant.amount_awarded is not None and total > grant.amount_awarded:
        raise BudgetExceedsAward(f"The lines add up to {total} of {grant.amount_awarded} awarded.")
    await session.execute(delete(BudgetLine).where(col(BudgetLine.grant_id) == grant.id))
    for line in data.lines:
        session.add(
            BudgetLine(
                grant_id=grant.id,
                category=line.category,
                amount=line.amount,
                description=line.description,
            )
        )
    grant.budget_version += 1
    await session.flush()
    return await _budget(session, grant)


# Expenditure


async def list_expenditures(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, params: PageParams
) -> Page[ExpenditureRead]:
    return await _page(
        session, principal, grant_id, params, Expenditure, "reported_at", ExpenditureRead
    )


def grant_period(grant: Grant) -> tuple[date, date]:
    """The grant's planned period, widened to its actual dates where they fall outside."""
    start = min(grant.planned_start, grant.actual_start or grant.planned_start)
    end = max(grant.planned_end, grant.actual_end or grant.planned_end)
    return start, end


async def add_expenditure(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID, data: ExpenditureCreate
) -> ExpenditureRead:
    grant = await visible_grant(session, principal, grant_id)
    require_recipient(grant, principal)
    _require_status(grant, TAKES_EXPENDITURE, "Reporting expenditure")
    if data.period_end < data.period_start:
        raise ExpenditurePeriodInvalid("period_end comes on or after period_start.")
    start, end = grant_period(grant)
    if data.period_start < start or data.period_end > end:
        raise ExpenditureOutsideGrantPeriod(f"The grant runs from {start} to {end}.")
    screen({"description": data.description})
    row = Expenditure(
        grant_id=grant.id,
        category=data.category,
        period_start=data.period_start,
        period_end=data.period_end,
        amount=data.amount,
        description=data.description,
        reported_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    return _in_currency(ExpenditureRead, grant, row)
