"""The synthetic grants of the demo programme (../shared/domain.md, "Programme figures"
and "Funding sustainability"), the same rows and ids on every run (fixed seed, ids
derived from names).

- One programme, managed by the foundation, co-funded by the development agency
  from 2011, in the seven countries, 2007-2014, in EUR.
- Grants of one or two calendar years to the fifteen NGOs, about EUR 25,000 a year,
  with gaps between rounds: the foundation's alone (starting 2007-2010, ended by
  2011) add up to EUR 875,000.00; the co-funded ones (starting 2011-2014) to
  EUR 763,870.00, each funder's share in `grant_funder`.
- Per grant: two tranches (60 % at the start, 40 % once the interim report is in),
  paid as planned, the second of a few in local currency at a stored rate; a budget
  by category; expenditure per half-year; an interim and a final report, most on
  time, some late, a few sent back once. The final reports' figures add up to the
  programme's 1,711 persons and 1,179 family members assisted.
- Per NGO and year, the funding mix: donors dominate the early years; governments,
  companies (in kind), the NGO's own social enterprise and individuals grow later.

Texts are generic and name no person; the loader screens every one of them.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from baton.money import CENT, convert, in_cents
from baton.stack.programme import (
    DEVELOPMENT_AGENCY,
    FOUNDATION,
    NGOS,
    PROGRAMME_COUNTRIES,
    PROGRAMME_YEARS,
    DemoOrganisation,
)
from grants_api.config import GrantsSettings
from grants_api.demo.funding import GrantMoney, Row, funding_mix
from grants_api.vocabulary import (
    BudgetCategory,
    GrantStatus,
    ReportKind,
    RequirementStatus,
)

SEED = 2007
EN_DASH = "\N{EN DASH}"  # between the years in a grant's title
NAMESPACE = uuid.UUID("9b6f3c52-2007-5e1a-8c3d-7a4b1e0f2014")
PROGRAMME_NAME = "Trafficking Victims Re/integration Programme (demo)"
CURRENCY = "EUR"
FOUNDATION_ONLY_TOTAL = Decimal("875000.00")
CO_FUNDED_TOTAL = Decimal("763870.00")
FIRST_CO_FUNDED_YEAR = 2011
PERSONS_ASSISTED, FAMILY_MEMBERS_ASSISTED = 1_711, 1_179
SEEDED_BY = "demo-seed"
REVIEWED_BY = "demo-foundation-grant-manager"
SUBMITTED_BY = "demo-ngo-case-manager"
FIRST_TRANCHE = Decimal("0.6")
# When NGOs joined, and the years between one grant's end and the next one's start.
JOINED = (2007, 2007, 2008, 2008, 2009, 2010)
GAPS = (1, 1, 1, 2)
LATE_SHARE, LOCAL_CURRENCY_SHARE, REVISIONS = 0.15, 0.2, 4
# Grants are paid in EUR; a few last tranches in the NGO's currency (EUR per unit).
LOCAL_RATES = {
    "AL": ("ALL", Decimal("0.00722022")),
    "BA": ("BAM", Decimal("0.51129188")),
    "BG": ("BGN", Decimal("0.51129188")),
    "MK": ("MKD", Decimal("0.01626016")),
    "RO": ("RON", Decimal("0.23255814")),
    "RS": ("RSD", Decimal("0.00943396")),
}
BUDGET_TEXTS = {
    BudgetCategory.services: "Direct services: accommodation, medical, psychological and legal aid",
    BudgetCategory.staff: "Case managers, social workers and psychologists (part-time)",
    BudgetCategory.office_and_running_costs: "Rent, utilities, transport and communication",
    BudgetCategory.other: "Training, supervision and audit",
}
INTERIM_NARRATIVES = (
    "Services were delivered as planned in the first half of the grant period. Case "
    "management, counselling and family mediation continued; cooperation with the local "
    "social services and the employment office was strengthened.",
    "The first half of the period went as planned. Shelter places were fully used, "
    "vocational training started for a group of young adults and the team took part in "
    "the programme's peer exchange.",
    "Assistance continued without interruption. Medical and legal aid were arranged "
    "through partner institutions; more children and youth than expected needed support "
    "with schooling.",
)
FINAL_NARRATIVES = (
    "All planned services were delivered over the grant period. Most persons assisted "
    "reached stable housing and income; monitoring continues with the local social "
    "services. Lessons: flexible funding of running costs kept the team together.",
    "The grant period closed as planned. Re/integration plans were completed for most "
    "persons assisted, family members received counselling, and the social enterprise "
    "offered work placements. Staff turnover remained low.",
    "Services ran through the whole period. Economic empowerment improved with the "
    "employment office's cooperation; a few persons lost contact after returning to "
    "their home towns. The budget was spent as planned.",
)
REVISED_COMMENT = (
    "Accepted after revision: the first version was sent back for the expenditure by "
    "budget category and an explanation of the variance."
)
REVISED_NOTE = (
    " A revised version adds the expenditure by budget category and explains the variance."
)

# A reporting requirement to make: kind, due date, period covered, sent back once or not.
Report = tuple[ReportKind, date, tuple[date, date], bool]
# Insert order: parents before children.
PARTNER_TABLES = (
    "grant_award",
    "grant_funder",
    "tranche",
    "disbursement",
    "budget_line",
    "expenditure",
    "reporting_requirement",
    "report_submission",
    "funding_year",
    "funding_entry",
)


def demo_id(*parts: object) -> uuid.UUID:
    """A fixed id for a demo row, derived from its names."""
    return uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts))


PROGRAMME_ID = demo_id("programme", PROGRAMME_NAME)


@dataclass
class PartnerRows:
    """One NGO's rows, loaded in a transaction bound to it (row-level security)."""

    organisation: DemoOrganisation
    tables: dict[str, list[Row]] = field(
        default_factory=lambda: {table: [] for table in PARTNER_TABLES}
    )


@dataclass
class DemoGrants:
    programme: Row
    partners: list[PartnerRows]

    def rows(self, table: str) -> list[Row]:
        if table == "programme":
            return [self.programme]
        return [row for partner in self.partners for row in partner.tables[table]]


@dataclass(frozen=True)
class Span:
    """One grant's calendar years."""

    ngo: DemoOrganisation
    number: int  # the NGO's place in the programme, for the grant's reference
    first: int
    last: int

    @property
    def years(self) -> int:
        return self.last - self.first + 1

    @property
    def co_funded(self) -> bool:
        return self.first >= FIRST_CO_FUNDED_YEAR


def exact_split(weights: Sequence[float], total: Decimal, step: Decimal) -> list[Decimal]:
    """Amounts proportional to `weights`, in multiples of `step`, adding up to `total`."""
    exact = [Decimal(repr(weight)) for weight in weights]
    whole = sum(exact, Decimal(0))
    amounts = [
        (total * weight / whole / step).to_integral_value(ROUND_HALF_EVEN) * step
        for weight in exact
    ]
    largest = max(range(len(amounts)), key=lambda index: amounts[index])
    amounts[largest] += total - sum(amounts, Decimal(0))
    return [amount.quantize(CENT) for amount in amounts]


def local_payment(amount: Decimal, rate: Decimal) -> Decimal:
    """What to pay in the other currency so that it converts to exactly `amount`."""
    paid = in_cents(amount / rate)
    while convert(paid, rate) < amount:
        paid += CENT
    while convert(paid, rate) > amount:
        paid -= CENT
    return paid


def _tens(amount: Decimal) -> Decimal:
    """Rounded to whole tens of euros, as awards are."""
    return (amount / 10).to_integral_value(ROUND_HALF_EVEN) * 10 + Decimal("0.00")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _half_years(first: int, last: int) -> Iterator[tuple[date, date]]:
    for year in range(first, last + 1):
        yield date(year, 1, 1), date(year, 6, 30)
        yield date(year, 7, 1), date(year, 12, 31)


class _Generator:
    def __init__(self, settings: GrantsSettings) -> None:
        self.rng = random.Random(SEED)
        self.settings = settings
        self.partners = {ngo.id: PartnerRows(ngo) for ngo in NGOS}
        # NGO -> year -> the foundation's and the agency's grant money that year.
        self.grant_money: dict[uuid.UUID, dict[int, GrantMoney]] = defaultdict(dict)

    def spans(self) -> list[Span]:
        """Rounds of one or two years with gaps; the foundation's alone end by 2011."""
        spans: list[Span] = []
        last_year = PROGRAMME_YEARS[1]
        for number, ngo in enumerate(NGOS, start=1):
            year = self.rng.choice(JOINED)
            while year <= last_year:
                last = year + self.rng.choice((1, 2, 2)) - 1
                if year < FIRST_CO_FUNDED_YEAR:
                    last = min(last, FIRST_CO_FUNDED_YEAR)
                spans.append(Span(ngo, number, year, min(last, last_year)))
                year = min(last, last_year) + 1 + self.rng.choice(GAPS)
        return spans

    def generate(self) -> DemoGrants:
        spans = self.spans()
        awards: dict[Span, Decimal] = {}
        for co_funded, total in ((False, FOUNDATION_ONLY_TOTAL), (True, CO_FUNDED_TOTAL)):
            chosen = [span for span in spans if span.co_funded == co_funded]
            weights = [span.years * self.rng.uniform(21_000, 29_000) for span in chosen]
            awards |= dict(zip(chosen, exact_split(weights, total, Decimal(10)), strict=True))
        weights = [span.years * self.rng.uniform(0.7, 1.3) for span in spans]
        persons = exact_split(weights, Decimal(PERSONS_ASSISTED), Decimal(1))
        families = exact_split(weights, Decimal(FAMILY_MEMBERS_ASSISTED), Decimal(1))
        revised = set(self.rng.sample(range(2 * len(spans)), REVISIONS))
        for index, span in enumerate(spans):
            figures = (int(persons[index]), int(families[index]))
            revisions = (2 * index in revised, 2 * index + 1 in revised)
            self.grant(span, awards[span], figures, revisions)
        for ngo in NGOS:
            years, entries = funding_mix(self.rng, ngo, self.grant_money[ngo.id])
            self.partners[ngo.id].tables["funding_year"] += years
            self.partners[ngo.id].tables["funding_entry"] += entries
        return DemoGrants(self.programme(), list(self.partners.values()))

    def programme(self) -> Row:
        start, end = PROGRAMME_YEARS
        created = _at(date(start - 1, 11, 15))
        return {
            "id": PROGRAMME_ID,
            "managing_organisation_id": FOUNDATION.id,
            "funder_organisation_ids": [FOUNDATION.id, DEVELOPMENT_AGENCY.id],
            "name": PROGRAMME_NAME,
            "description": (
                "Flexible, partial funding of NGOs' re/integration services for trafficked "
                "persons and their families in South-East Europe; co-funded by the "
                "development agency from 2011."
            ),
            "countries": list(PROGRAMME_COUNTRIES),
            "period_start": date(start, 1, 1),
            "period_end": date(end, 12, 31),
            "currency": CURRENCY,
            "version": 1,
            "created_by": SEEDED_BY,
            "created_at": created,
            "updated_at": created,
        }

    def grant(
        self,
        span: Span,
        award: Decimal,
        figures: tuple[int, int],
        revisions: tuple[bool, bool],
    ) -> None:
        rng, tables = self.rng, self.partners[span.ngo.id].tables
        reference = f"TVRP-{span.first}-{span.number:02d}"
        grant_id = demo_id("grant", reference)
        start, end = date(span.first, 1, 1), date(span.last, 12, 31)
        awarded_on = start - timedelta(days=rng.randint(20, 50))
        midpoint = start + timedelta(days=(end - start).days // 2)
        interim_due = midpoint + timedelta(days=self.settings.interim_report_due_days)
        final_due = end + timedelta(days=self.settings.final_report_due_days)
        years = str(span.first) if span.years == 1 else f"{span.first}{EN_DASH}{span.last}"

        agency = Decimal(0)
        if span.co_funded:
            agency = _tens(award * Decimal(repr(rng.uniform(0.4, 0.5))))
        funders = {FOUNDATION.id: award - agency}
        if agency:
            funders[DEVELOPMENT_AGENCY.id] = agency
        for year in range(span.first, span.last + 1):
            self.grant_money[span.ngo.id][year] = GrantMoney(
                in_cents((award - agency) / span.years),
                in_cents(agency / span.years),
            )
        tables["grant_funder"] += [
            {"grant_id": grant_id, "organisation_id": funder, "amount": amount}
            for funder, amount in funders.items()
        ]

        interim_accepted, final_accepted = self.requirements(
            tables,
            grant_id,
            (ReportKind.interim, interim_due, (start, midpoint), revisions[0]),
            (ReportKind.final, final_due, (start, end), revisions[1]),
            figures,
            _at(awarded_on, 9),
        )
        self.money(span, grant_id, reference, award, start, interim_due, interim_accepted)
        self.budget(span, grant_id, award)
        closed = final_accepted + timedelta(days=rng.randint(1, 10))
        co_funding = " Co-funded by the development agency." if span.co_funded else ""
        tables["grant_award"].append(
            {
                "id": grant_id,
                "identifier": f"{self.settings.identifier_prefix}-{reference}",
                "programme_id": PROGRAMME_ID,
                "managing_organisation_id": FOUNDATION.id,
                "recipient_organisation_id": span.ngo.id,
                "party_organisation_ids": [span.ngo.id, *funders],
                "title": f"Re/integration services {years}",
                "description": (
                    "Partial funding of the partner's re/integration services for trafficked "
                    "persons and their families: direct services, staff and running costs."
                    + co_funding
                ),
                "currency": CURRENCY,
                "amount_applied_for": _tens(award * Decimal(repr(rng.uniform(1.0, 1.2)))),
                "amount_awarded": award,
                "award_date": awarded_on,
                "planned_start": start,
                "planned_end": end,
                "actual_start": start,
                "actual_end": end,
                "beneficiary_countries": [span.ngo.country],
                "status": GrantStatus.closed.value,
                "version": 1,
                "budget_version": 1,
                "created_by": SEEDED_BY,
                "created_at": _at(awarded_on, 9),
                "updated_at": closed,
                "closed_at": closed,
            }
        )

    def money(
        self,
        span: Span,
        grant_id: uuid.UUID,
        reference: str,
        award: Decimal,
        start: date,
        interim_due: date,
        interim_accepted: datetime,
    ) -> None:
        """Two tranches, each paid once: the second after the interim report's acceptance."""
        rng, tables = self.rng, self.partners[span.ngo.id].tables
        first = in_cents(award * FIRST_TRANCHE)
        second_due = interim_due + timedelta(days=15)
        plan = (
            (1, start, first, "First tranche (60 %), at the start"),
            (2, second_due, award - first, "Second tranche (40 %), after the interim report"),
        )
        for number, due_on, amount, label in plan:
            tranche_id = demo_id("tranche", reference, number)
            tables["tranche"].append(
                {
                    "id": tranche_id,
                    "grant_id": grant_id,
                    "due_on": due_on,
                    "amount": amount,
                    "label": label,
                    "created_by": SEEDED_BY,
                    "created_at": _at(start - timedelta(days=10)),
                }
            )
            ready = due_on if number == 1 else max(due_on, interim_accepted.date())
            paid_on = ready + timedelta(days=rng.randint(2, 10))
            currency, rate = LOCAL_RATES.get(span.ngo.country, (None, None))
            local = number == 2 and rate is not None and rng.random() < LOCAL_CURRENCY_SHARE
            tables["disbursement"].append(
                {
                    "id": demo_id("disbursement", reference, number),
                    "grant_id": grant_id,
                    "tranche_id": tranche_id,
                    "disbursed_on": paid_on,
                    "amount": amount,
                    "paid_amount": local_payment(amount, rate) if local and rate else None,
                    "paid_currency": currency if local else None,
                    "exchange_rate": rate if local else None,
                    "rate_date": paid_on - timedelta(days=1) if local else None,
                    "reference": f"{reference}/{number}",
                    "created_by": SEEDED_BY,
                    "created_at": _at(paid_on, 11),
                }
            )

    def budget(self, span: Span, grant_id: uuid.UUID, award: Decimal) -> None:
        """The budget by category, and the expenditure reported against it per half-year."""
        rng, tables = self.rng, self.partners[span.ngo.id].tables
        shares = {
            BudgetCategory.services: rng.uniform(0.45, 0.55),
            BudgetCategory.staff: rng.uniform(0.25, 0.33),
            BudgetCategory.office_and_running_costs: rng.uniform(0.10, 0.16),
            BudgetCategory.other: rng.uniform(0.03, 0.06),
        }
        amounts = exact_split(list(shares.values()), award, Decimal(10))
        periods = list(_half_years(span.first, span.last))
        for category, planned in zip(shares, amounts, strict=True):
            tables["budget_line"].append(
                {
                    "id": demo_id("budget", grant_id, category),
                    "grant_id": grant_id,
                    "category": category.value,
                    "amount": planned,
                    "description": BUDGET_TEXTS[category],
                }
            )
            spent = in_cents(planned * Decimal(repr(rng.uniform(0.95, 1.0))))
            weights = [rng.uniform(0.8, 1.2) for _ in periods]
            for (first, last), amount in zip(
                periods, exact_split(weights, spent, CENT), strict=True
            ):
                tables["expenditure"].append(
                    {
                        "id": demo_id("expenditure", grant_id, category, first),
                        "grant_id": grant_id,
                        "category": category.value,
                        "period_start": first,
                        "period_end": last,
                        "amount": amount,
                        "description": None,
                        "reported_by": SEEDED_BY,
                        "reported_at": _at(last + timedelta(days=rng.randint(20, 40))),
                    }
                )

    def requirements(
        self,
        tables: dict[str, list[Row]],
        grant_id: uuid.UUID,
        interim: Report,
        final: Report,
        figures: tuple[int, int],
        created: datetime,
    ) -> tuple[datetime, datetime]:
        """The interim and final reports, submitted and accepted; when each was accepted."""
        persons, families = figures
        share = self.rng.uniform(0.4, 0.6)
        interim_figures = {
            "persons_assisted": round(persons * share),
            "family_members_assisted": round(families * share),
        }
        final_figures = {"persons_assisted": persons, "family_members_assisted": families}
        interim_accepted = self.report(tables, grant_id, interim, interim_figures, created)
        final_accepted = self.report(tables, grant_id, final, final_figures, created)
        return interim_accepted, final_accepted

    def report(
        self,
        tables: dict[str, list[Row]],
        grant_id: uuid.UUID,
        report: Report,
        figures: dict[str, int],
        created: datetime,
    ) -> datetime:
        """One requirement and its submissions (two if sent back once); when accepted."""
        rng = self.rng
        kind, due_on, (period_start, period_end), revised = report
        narrative = rng.choice(
            INTERIM_NARRATIVES if kind == ReportKind.interim else FINAL_NARRATIVES
        )
        late = rng.random() < LATE_SHARE
        offset = rng.randint(3, 45) if late else -rng.randint(0, 20)
        sent = [_at(due_on + timedelta(days=offset), 14)]
        texts = [narrative]
        if revised:
            returned = sent[0] + timedelta(days=rng.randint(7, 15))
            sent.append(returned + timedelta(days=rng.randint(10, 25)))
            texts.append(narrative + REVISED_NOTE)
        reviewed = sent[-1] + timedelta(days=rng.randint(5, 20))
        requirement_id = demo_id("requirement", grant_id, kind)
        tables["reporting_requirement"].append(
            {
                "id": requirement_id,
                "grant_id": grant_id,
                "kind": kind.value,
                "due_on": due_on,
                "status": RequirementStatus.accepted.value,
                # Each submission and each review moved it on.
                "version": 1 + 2 * len(sent),
                "submitted_at": sent[-1],
                "reviewed_at": reviewed,
                "reviewed_by": REVIEWED_BY,
                "review_comment": REVISED_COMMENT if revised else "Accepted.",
                "created_at": created,
            }
        )
        for number, (moment, text) in enumerate(zip(sent, texts, strict=True), start=1):
            tables["report_submission"].append(
                {
                    "id": demo_id("submission", requirement_id, number),
                    "requirement_id": requirement_id,
                    "grant_id": grant_id,
                    "period_start": period_start,
                    "period_end": period_end,
                    "narrative": text,
                    "figures": figures,
                    "submitted_by": SUBMITTED_BY,
                    "submitted_at": moment,
                }
            )
        return reviewed


def generate(settings: GrantsSettings) -> DemoGrants:
    """The demo programme's rows (the same on every call)."""
    return _Generator(settings).generate()
