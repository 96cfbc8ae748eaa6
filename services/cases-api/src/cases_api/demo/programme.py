"""The synthetic programme's beneficiaries, cases, services, assessments and families.

Shaped on ../shared/domain.md: about 1,711 persons assisted by fifteen NGOs in seven
countries from 2007 to 2014, almost 60% re/integrated, about 83% female, about 38%
children, 1,179 family members assisted. A fixed seed makes every run the same.
Rows are plain dicts keyed by column name, ready for bulk inserts.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from baton.stack.programme import NGOS, PROGRAMME_COUNTRIES
from cases_api.cases.phases import add_months
from cases_api.demo.names import FAMILY, GIVEN_FEMALE, GIVEN_MALE, LANGUAGES
from cases_api.vocabulary import CaseOutcome, ServiceType

SEED = 20_070_101
PERSONS = 1_711
FAMILY_MEMBERS = 1_179
FIRST_DAY, LAST_DAY = date(2007, 1, 1), date(2014, 12, 31)
DESTINATIONS = ("IT", "GR", "DE", "FR", "TR", "AT", "NL", "BE", "GB", "CH")

Row = dict[str, Any]


def _weighted(rng: random.Random, choices: Mapping[str, float]) -> str:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


OUTCOMES = {
    CaseOutcome.reintegrated: 60,
    CaseOutcome.in_progress: 11,
    CaseOutcome.declined_assistance: 6,
    CaseOutcome.lost_contact: 10,
    CaseOutcome.retrafficked: 4,
    CaseOutcome.transferred: 4,
    CaseOutcome.relocated: 4,
    CaseOutcome.deceased: 1,
}
SOURCES = {
    "police": 50,
    "social_services": 18,
    "ngo": 10,
    "border_police": 7,
    "international_organisation": 6,
    "self": 5,
    "family": 3,
    "labour_inspection": 1,
}


@dataclass
class DemoProgramme:
    """Rows per table, grouped by organisation (each load binds one tenant at a time)."""

    beneficiaries: dict[uuid.UUID, list[Row]] = field(default_factory=dict)
    identities: dict[uuid.UUID, list[tuple[uuid.UUID, dict[str, Any]]]] = field(
        default_factory=dict
    )
    cases: dict[uuid.UUID, list[Row]] = field(default_factory=dict)
    services: dict[uuid.UUID, list[Row]] = field(default_factory=dict)
    assessments: dict[uuid.UUID, list[Row]] = field(default_factory=dict)
    family_members: dict[uuid.UUID, list[Row]] = field(default_factory=dict)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.data = DemoProgramme()

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def person(self, organisation: uuid.UUID, country: str) -> None:
        rng = self.rng
        female = rng.random() < 0.842
        child = rng.random() < 0.38
        started = self.day_between(FIRST_DAY, date(2014, 6, 30))
        age = rng.randint(9, 17) if child else rng.randint(18, 46)
        born = self.day_between(date(started.year - age - 1, started.month, 1), started)
        born = born.replace(year=started.year - age) if born.month != 2 or born.day != 29 else born
        nationality = country if rng.random() < 0.85 else rng.choice(PROGRAMME_COUNTRIES)
        beneficiary_id = self.new_id()
        stamp = datetime.combine(started, time(9), tzinfo=UTC)
        self.data.beneficiaries.setdefault(organisation, []).append(
            {
                "id": beneficiary_id,
                "organisation_id": organisation,
                "sex": "female" if female else "male",
                "birth_year": born.year,
                "is_child": child,
                "nationality": nationality,
                "countries_of_origin": [nationality],
                "countries_of_exploitation": sorted(
                    {rng.choice(DESTINATIONS) if rng.random() < 0.7 else country}
                    | ({rng.choice(DESTINATIONS)} if rng.random() < 0.2 else set())
                ),
                "languages": [LANGUAGES[nationality]],
                "erased_at": None,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        given = rng.choice((GIVEN_FEMALE if female else GIVEN_MALE)[nationality])
        self.data.identities.setdefault(organisation, []).append(
            (
                beneficiary_id,
                {
                    "given_names": given,
                    "family_names": rng.choice(FAMILY[nationality]),
                    "aliases": [],
                    "date_of_birth": born.isoformat(),
                    "phone": None,
                    "address": None,
                    "documents": [
                        {
                            "type": "passport" if not child else "birth_certificate",
                            "number": None,
                            "issuing_country": nationality,
                            "status": _weighted(
                                rng, {"held": 40, "missing": 30, "confiscated": 30}
                            ),
                        }
                    ],
                },
            )
        )
        self.case(organisation, beneficiary_id, started, female, child, stamp)

    def case(
        self,
        organisation: uuid.UUID,
        beneficiary_id: uuid.UUID,
        started: date,
        female: bool,
        child: bool,
        stamp: datetime,
    ) -> None:
        rng = self.rng
        forms = {"sexual" if female and rng.random() < 0.78 else "labour"}
        if child and rng.random() < 0.3:
            forms.add("begging")
        if rng.random() < 0.08:
            forms.add(rng.choice(("criminal_activities", "forced_marriage", "labour")))
        outcome = CaseOutcome(_weighted(rng, {str(k): v for k, v in OUTCOMES.items()}))
        closed_on = None
        if outcome is not CaseOutcome.in_progress:
            closed_on = min(add_months(started, rng.randint(4, 36)), LAST_DAY)
        case_id = self.new_id()
        self.data.cases.setdefault(organisation, []).append(
            {
                "id": case_id,
                "organisation_id": organisation,
                "beneficiary_id": beneficiary_id,
                "status": "closed" if closed_on else "active",
                "assistance_started_on": started,
                "exploitation_forms": sorted(forms),
                "identification_stage": _weighted(
                    rng, {"identified": 70, "presumed": 25, "not_identified": 5}
                ),
                "referral_source": _weighted(rng, SOURCES),
                "assigned_to": f"demo-caseworker-{rng.randint(1, 4)}",
                "risk_level": _weighted(rng, {"low": 30, "medium": 45, "high": 20, "critical": 5}),
                "outcome": outcome.value if closed_on else None,
                "closed_on": closed_on,
                "closed_by": "demo-case-manager" if closed_on else None,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        self.services(organisation, beneficiary_id, case_id, started, closed_on, stamp)
        self.assessment_series(organisation, beneficiary_id, case_id, started, closed_on, stamp)

    def services(
        self,
        organisation: uuid.UUID,
        beneficiary_id: uuid.UUID,
        case_id: uuid.UUID,
        started: date,
        closed_on: date | None,
        stamp: datetime,
    ) -> None:
        rng = self.rng
        kinds = {ServiceType.case_monitoring, ServiceType.psychological}
        kinds |= set(rng.sample(list(ServiceType), rng.randint(1, 4)))
        end = closed_on or LAST_DAY
        for kind in sorted(kinds):
            began = self.day_between(started, min(end, add_months(started, 6)))
            delivered = rng.random() < 0.85
            self.data.services.setdefault(organisation, []).append(
                {
                    "id": self.new_id(),
                    "organisation_id": organisation,
                    "case_id": case_id,
                    "beneficiary_id": beneficiary_id,
                    "service_type": kind.value,
                    "status": "delivered" if delivered else "in_progress",
                    "planned_start": began,
                    "planned_end": None,
                    "started_on": began,
                    "delivered_on": self.day_between(began, end) if delivered else None,
                    "provider_organisation_id": None,
                    "provider_name": None,
                    "cost_amount": None,
                    "cost_currency": None,
                    "grant_id": None,
                    "version": 1,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )

    def assessment_series(
        self,
        organisation: uuid.UUID,
        beneficiary_id: uuid.UUID,
        case_id: uuid.UUID,
        started: date,
        closed_on: date | None,
        stamp: datetime,
    ) -> None:
        rng = self.rng
        end = closed_on or LAST_DAY
        level = {domain: rng.randint(1, 3) for domain in ASSESSMENT_DOMAINS}
        for months in (0, 3, 12, 24):
            on = add_months(started, months)
            if on > end:
                break
            self.data.assessments.setdefault(organisation, []).append(
                {
                    "id": self.new_id(),
                    "organisation_id": organisation,
                    "case_id": case_id,
                    "beneficiary_id": beneficiary_id,
                    "assessed_on": on,
                    "assessed_by": "demo-caseworker-1",
                    **level,
                    "created_at": stamp,
                }
            )
            level = {d: min(5, v + (rng.random() < 0.5)) for d, v in level.items()}

    def family(self, members: int) -> None:
        rng = self.rng
        everyone = [
            (organisation, row["id"])
            for organisation, rows in self.data.beneficiaries.items()
            for row in rows
        ]
        for organisation, beneficiary_id in rng.sample(everyone * 2, members):
            child = rng.random() < 0.55
            stamp = datetime.combine(FIRST_DAY, time(9), tzinfo=UTC)
            self.data.family_members.setdefault(organisation, []).append(
                {
                    "id": self.new_id(),
                    "organisation_id": organisation,
                    "beneficiary_id": beneficiary_id,
                    "relationship": "child" if child else rng.choice(("parent", "sibling")),
                    "sex": rng.choice(("female", "male")),
                    "age_group": "child" if child else "adult",
                    "services_received": [ServiceType.secondary_beneficiary_support.value],
                    "ciphertext": None,
                    "version": 1,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )


ASSESSMENT_DOMAINS = (
    "safety",
    "housing",
    "physical_health",
    "mental_wellbeing",
    "economic_situation",
    "education_skills",
    "family_social_relations",
    "legal_status",
)


def generate(seed: int = SEED, persons: int = PERSONS) -> DemoProgramme:
    """The programme's persons; more of them (other seeds) keep its family share."""
    generator = _Generator(seed)
    # Partners differ in size: weights of 1 to 3 shares.
    weights = [generator.rng.randint(1, 3) for _ in NGOS]
    for ngo in generator.rng.choices(NGOS, weights=weights, k=persons):
        generator.person(ngo.id, ngo.country)
    generator.family(round(persons * FAMILY_MEMBERS / PERSONS))
    return generator.data
