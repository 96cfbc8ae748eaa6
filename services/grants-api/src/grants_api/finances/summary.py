"""The figures that sum a grant's money up: one grant at a glance (`finances_of`, the
`/finances` endpoint), and grants over a period (`finances_of_each`, `summed`,
`finances_of_grants`) for the donor reports.

Amounts are summed per grant in the grant's currency, never across currencies. An
expenditure report covers its own period and counts in a period when its own
`period_end` falls within it, so consecutive periods count each one exactly once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from baton.auth import Principal
from baton.money import in_cents
from grants_api.access import visible_grant
from grants_api.finances.models import BudgetLine, Disbursement, Expenditure, Tranche
from grants_api.finances.schemas import (
    BurnRate,
    CategoryFinances,
    CategorySpending,
    GrantFinances,
    PeriodFinances,
)
from grants_api.finances.service import (
    ZERO,
    awarded_of,
    total_of,
    tranche_read,
    tranches_with_paid,
)
from grants_api.grants.models import Grant
from grants_api.vocabulary import BudgetCategory

TENTH = Decimal("0.1")


async def disbursed_by_grant(
    session: AsyncSession, grant_ids: Collection[uuid.UUID], *where: sa.ColumnElement[bool]
) -> dict[uuid.UUID, Decimal]:
    """What was disbursed on each of these grants (among the rows `where` keeps); a grant
    without a disbursement is absent."""
    if not grant_ids:
        return {}
    grant = col(Disbursement.grant_id)
    rows = await session.execute(
        select(grant, func.sum(Disbursement.amount))
        .where(grant.in_(grant_ids), *where)
        .group_by(grant)
    )
    return {grant_id: in_cents(Decimal(amount)) for grant_id, amount in rows.all()}


async def _by_category(
    session: AsyncSession,
    model: type[BudgetLine] | type[Expenditure],
    grant_ids: Collection[uuid.UUID],
    *where: sa.ColumnElement[bool],
) -> dict[uuid.UUID, dict[BudgetCategory, Decimal]]:
    """The amounts of `model`'s rows of each grant, summed by category (every category)."""
    totals = {grant_id: dict.fromkeys(BudgetCategory, ZERO) for grant_id in grant_ids}
    if not grant_ids:
        return totals
    grant, category = col(model.grant_id), col(model.category)
    rows = await session.execute(
        select(grant, category, func.sum(model.amount))
        .where(grant.in_(grant_ids), *where)
        .group_by(grant, category)
    )
    for grant_id, name, amount in rows.all():
        totals[grant_id][BudgetCategory(name)] = in_cents(Decimal(amount))
    return totals


# One grant at a glance


def whole_months(start: date, last_day: date) -> int:
    """Whole months from `start` through `last_day`, both included (1 Jan to 31 Dec is 12)."""
    after = last_day + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return months - 1 if after.day < start.day else months


def burn_rate(start: date, end: date, spent: Decimal, balance: Decimal, today: date) -> BurnRate:
    """How fast the money goes: spent per month since `start`, and months the balance lasts."""
    months = max(1, whole_months(start, min(today, end)))
    per_month = in_cents(spent / months)
    left: Decimal | None = None
    if per_month > 0:
        left = max(Decimal(0), balance / per_month).quantize(TENTH, rounding=ROUND_HALF_EVEN)
    return BurnRate(months_elapsed=months, spent_per_month=per_month, months_of_balance_left=left)


async def finances_of(
    session: AsyncSession, grant: Grant, *, today: date | None = None
) -> GrantFinances:
    """The money summary of one grant, every amount in its currency.

    `session` must see the grant's rows (row-level security: bind a party's
    organisation); `grant` is one the caller may see (`visible_grant`). A
    tranche counts as disbursed once the disbursements naming it pay its amount.
    The burn rate runs from the actual (else planned) start to the earlier of
    `today` (default: the current date) and the actual (else planned) end.
    """
    planned = await total_of(session, col(Tranche.amount), col(Tranche.grant_id) == grant.id)
    disbursed = (await disbursed_by_grant(session, [grant.id])).get(grant.id, ZERO)
    budgeted = (await _by_category(session, BudgetLine, [grant.id]))[grant.id]
    spent_by = (await _by_category(session, Expenditure, [grant.id]))[grant.id]
    spent = sum(spent_by.values(), ZERO)
    awarded = awarded_of(grant)
    balance = disbursed - spent
    next_row = (
        await session.execute(tranches_with_paid(grant.id, unpaid_only=True).limit(1))
    ).first()
    return GrantFinances(
        grant_id=grant.id,
        currency=grant.currency,
        awarded=awarded,
        planned_in_tranches=planned,
        disbursed=disbursed,
        remaining_to_disburse=awarded - disbursed,
        spent=spent,
        balance=balance,
        by_category=[
            CategoryFinances(
                category=category,
                budgeted=budgeted[category],
                spent=spent_by[category],
                remaining=budgeted[category] - spent_by[category],
            )
            for category in BudgetCategory
        ],
        burn_rate=burn_rate(
            grant.actual_start or grant.planned_start,
            grant.actual_end or grant.planned_end,
            spent,
            balance,
            today or date.today(),
        ),
        next_tranche=None if next_row is None else tranche_read(next_row[0], next_row[1]),
    )


async def read_finances(
    session: AsyncSession, principal: Principal, grant_id: uuid.UUID
) -> GrantFinances:
    return await finances_of(session, await visible_grant(session, principal, grant_id))


# Grants over a period


async def finances_of_each(
    session: AsyncSession, grants: Sequence[Grant], period_start: date, period_end: date
) -> list[PeriodFinances]:
    """Each grant's money over a period (both days included), in the grants' order.

    `disbursed` counts disbursements made on a day of the period, `disbursed_to_date`
    those up to its end; `spent` (and `by_category[].spent`) the expenditure whose own
    period ends within it, `spent_to_date` up to its end; `awarded` and
    `by_category[].budgeted` are whole. `session` sees only what row-level security
    lets it: pass grants its organisation is party to. A handful of queries, however
    many the grants.
    """
    ids = [grant.id for grant in grants]
    if not ids:
        return []
    paid_on = col(Disbursement.disbursed_on)
    ends = col(Expenditure.period_end)
    disbursed = await disbursed_by_grant(session, ids, paid_on.between(period_start, period_end))
    disbursed_to_date = await disbursed_by_grant(session, ids, paid_on <= period_end)
    budgeted = await _by_category(session, BudgetLine, ids)
    spent = await _by_category(session, Expenditure, ids, ends.between(period_start, period_end))
    spent_to_date = await _by_category(session, Expenditure, ids, ends <= period_end)
    return [
        PeriodFinances(
            currency=grant.currency,
            period_start=period_start,
            period_end=period_end,
            grants=1,
            awarded=awarded_of(grant),
            disbursed=disbursed.get(grant.id, ZERO),
            disbursed_to_date=disbursed_to_date.get(grant.id, ZERO),
            spent=sum(spent[grant.id].values(), ZERO),
            spent_to_date=sum(spent_to_date[grant.id].values(), ZERO),
            by_category=[
                CategorySpending(
                    category=category,
                    budgeted=budgeted[grant.id][category],
                    spent=spent[grant.id][category],
                    spent_to_date=spent_to_date[grant.id][category],
                )
                for category in BudgetCategory
            ],
        )
        for grant in grants
    ]


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return in_cents(sum(amounts, ZERO))


def summed(
    figures: Sequence[PeriodFinances], period_start: date, period_end: date
) -> PeriodFinances:
    """The figures of grants of ONE currency over the period, added up.

    Raises ValueError for figures in more than one currency; none give zeros and a
    null currency.
    """
    currencies = sorted({one.currency for one in figures if one.currency is not None})
    if len(currencies) > 1:
        raise ValueError(f"grants in several currencies: {currencies}")
    lines: dict[BudgetCategory, list[CategorySpending]] = defaultdict(list)
    for one in figures:
        for line in one.by_category:
            lines[line.category].append(line)
    return PeriodFinances(
        currency=currencies[0] if currencies else None,
        period_start=period_start,
        period_end=period_end,
        grants=sum(one.grants for one in figures),
        awarded=_total(one.awarded for one in figures),
        disbursed=_total(one.disbursed for one in figures),
        disbursed_to_date=_total(one.disbursed_to_date for one in figures),
        spent=_total(one.spent for one in figures),
        spent_to_date=_total(one.spent_to_date for one in figures),
        by_category=[
            CategorySpending(
                category=category,
                budgeted=_total(line.budgeted for line in lines[category]),
                spent=_total(line.spent for line in lines[category]),
                spent_to_date=_total(line.spent_to_date for line in lines[category]),
            )
            for category in BudgetCategory
        ],
    )


async def finances_of_grants(
    session: AsyncSession, grants: Sequence[Grant], period_start: date, period_end: date
) -> PeriodFinances:
    """Several grants of ONE currency over a period (both days included): what
    `finances_of_each` gives each, `summed`. Raises ValueError for grants in more than
    one currency; no grants give zeros and a null currency."""
    each = await finances_of_each(session, grants, period_start, period_end)
    return summed(each, period_start, period_end)
