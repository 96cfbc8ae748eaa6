"""The re/integration phase, derived from the start of assistance.

Months 0-3 crisis intervention, 4-12 transition, 13-36 re/integration: a case is
in crisis until three calendar months have passed since assistance started, in
transition until twelve have, then in re/integration. A case manager's recorded
override wins.
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import ColumnElement, case, func, literal
from sqlmodel import col

from cases_api.cases.models import Case
from cases_api.vocabulary import Phase

CRISIS_MONTHS = 3
TRANSITION_MONTHS = 12


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def derived_phase(started_on: date, today: date) -> Phase:
    if today < add_months(started_on, CRISIS_MONTHS):
        return Phase.crisis
    if today < add_months(started_on, TRANSITION_MONTHS):
        return Phase.transition
    return Phase.reintegration


def phase_expression(today: date) -> ColumnElement[str]:
    """The same rule in SQL, for filters and statistics."""
    started = col(Case.assistance_started_on)
    derived = case(
        (started + func.make_interval(0, CRISIS_MONTHS) > literal(today), Phase.crisis.value),
        (
            started + func.make_interval(0, TRANSITION_MONTHS) > literal(today),
            Phase.transition.value,
        ),
        else_=Phase.reintegration.value,
    )
    return func.coalesce(col(Case.phase_override), derived)
