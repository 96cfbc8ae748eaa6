"""The demo NGOs' funding mix year by year (../shared/domain.md, "Funding sustainability").

Donors dominate the first years. Then national and municipal governments (cash, and
premises and utilities in kind, waxing and waning with budgets and elections),
companies (mostly in kind, a little cash), the NGO's own social enterprise (from the
year it opened, its profits growing) and individual donors take a growing part.
Annual budgets grow from EUR 38,000-150,000 and stay within EUR 35,000-350,000; the
programme's grant that year is part of the foundation's money, and the development
agency's share of it part of the international donors'.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from baton.stack.programme import PROGRAMME_YEARS, DemoOrganisation
from grants_api.vocabulary import FundingKind, FundingSource

Row = dict[str, Any]
NAMESPACE = uuid.UUID("5d0c7e21-2007-5f3b-9a64-3c8e2b1d2014")
MIN_BUDGET, MAX_BUDGET = 35_000, 350_000
UPDATED_BY = "demo-seed"
ENTERPRISES = ("Bakery", "Catering", "Car wash", "Printing shop", "Internet café", "Tour guiding")
INTERNATIONAL = (FundingSource.international_donor, FundingKind.cash)
FOUNDATIONS = (FundingSource.foundation, FundingKind.cash)
ENTERPRISE = (FundingSource.social_enterprise, FundingKind.cash)
COMPANY_CASH = (FundingSource.private_sector, FundingKind.cash)
TEXTS = {
    INTERNATIONAL: "International donors' project grants",
    FOUNDATIONS: "Foundation grants",
    (FundingSource.government_national, FundingKind.cash): "National service contracts",
    (FundingSource.government_local, FundingKind.cash): "Municipal grant",
    (FundingSource.government_local, FundingKind.in_kind): "Municipal premises and utilities",
    (FundingSource.private_sector, FundingKind.in_kind): (
        "Company donations in kind: dental care, training fees, food, clothes"
    ),
    COMPANY_CASH: "Company donations",
    (FundingSource.individual_donations, FundingKind.cash): "Individual donations",
}


class GrantMoney(NamedTuple):
    """A programme grant's money in one year: the foundation's and the agency's."""

    foundation: Decimal
    agency: Decimal


def _euros(value: float) -> Decimal:
    return Decimal(round(value)).quantize(Decimal("0.01"))


def _weights(rng: random.Random, year: int, enterprise_opened: int) -> dict[Any, float]:
    """How the year's money besides the programme's grant splits (relative weights)."""
    t = year - PROGRAMME_YEARS[0]
    mood = rng.uniform(0.6, 1.3)  # public money rises and falls with budgets and elections
    weights = {
        INTERNATIONAL: 0.55 - 0.055 * t,
        FOUNDATIONS: 0.12 - 0.01 * t,
        (FundingSource.government_national, FundingKind.cash): (0.04 + 0.03 * t) * mood,
        (FundingSource.government_local, FundingKind.cash): (0.02 + 0.015 * t) * mood,
        (FundingSource.government_local, FundingKind.in_kind): 0.03 + 0.01 * t,
        (FundingSource.private_sector, FundingKind.in_kind): 0.03 + 0.01 * t,
        (FundingSource.individual_donations, FundingKind.cash): rng.uniform(0.01, 0.03),
    }
    if year >= enterprise_opened:
        weights[ENTERPRISE] = 0.02 + 0.025 * (year - enterprise_opened)
    return {key: weight * rng.uniform(0.85, 1.15) for key, weight in weights.items()}


def funding_mix(
    rng: random.Random, ngo: DemoOrganisation, grants: Mapping[int, GrantMoney]
) -> tuple[list[Row], list[Row]]:
    """The NGO's `funding_year` and `funding_entry` rows, 2007-2014."""
    base, growth = rng.uniform(38_000, 150_000), rng.uniform(1.05, 1.16)
    enterprise_opened, enterprise = rng.randint(2008, 2012), rng.choice(ENTERPRISES)
    years: list[Row] = []
    entries: list[Row] = []
    first, last = PROGRAMME_YEARS
    for year in range(first, last + 1):
        grant = grants.get(year, GrantMoney(Decimal(0), Decimal(0)))
        granted = float(grant.foundation + grant.agency)
        # Always partial funding: the grant is well under the NGO's budget.
        budget = base * growth ** (year - first) * rng.uniform(0.92, 1.08)
        budget = min(max(budget, MIN_BUDGET + 100, granted * 1.4), MAX_BUDGET - 5_000)
        weights = _weights(rng, year, enterprise_opened)
        whole = sum(weights.values())
        amounts = {key: (budget - granted) * weight / whole for key, weight in weights.items()}
        amounts[FOUNDATIONS] += float(grant.foundation)
        amounts[INTERNATIONAL] += float(grant.agency)
        if rng.random() < 0.6:
            amounts[COMPANY_CASH] = rng.uniform(300, 5_000)
        texts = TEXTS | {ENTERPRISE: f"{enterprise} run by the organisation: profits"}
        if granted:
            texts[FOUNDATIONS] += ", the re/integration programme's grant included"
        if grant.agency:
            texts[INTERNATIONAL] += ", the development agency's programme co-funding included"
        years.append(
            {
                "organisation_id": ngo.id,
                "year": year,
                "version": 1,
                "updated_by": UPDATED_BY,
                "updated_at": datetime(year + 1, 3, 31, 10, tzinfo=UTC),
            }
        )
        entries += [
            {
                "id": uuid.uuid5(NAMESPACE, f"{ngo.id}/{year}/{source}/{kind}"),
                "organisation_id": ngo.id,
                "year": year,
                "source": source.value,
                "kind": kind.value,
                "amount": _euros(amount),
                "currency": "EUR",
                "description": texts[(source, kind)],
            }
            for (source, kind), amount in amounts.items()
        ]
    return years, entries
