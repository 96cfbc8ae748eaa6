"""The person behind a demo referral: the envelope that travels, the packet that is sealed.

Adults and children, women and men in the programme's proportions; the envelope
follows the submission rules (consent or legal basis, cross-border consent and a
return risk assessment across a border, a guardian for a child) and the packet
names an invented person (`names.py`) and a safe contact nobody can be reached
at: e-mail on the reserved `example.org` domain, and telephone numbers whose
national part starts with the trunk prefix 0, which no subscriber number does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from baton.stack.programme import PROGRAMME_COUNTRIES
from referral_api.demo.directory import DirectoryEntry
from referral_api.demo.names import FAMILY, GIVEN_FEMALE, GIVEN_MALE, LANGUAGES, family_name
from referral_api.demo.referrers import Referrer
from referral_api.referrals.envelope import Envelope
from referral_api.referrals.schemas import PersonIdentity, PersonPacket, SafeContact
from referral_api.referrals.vocabulary import ContactChannel, Priority

Row = dict[str, Any]


def weighted(rng: random.Random, choices: Mapping[str, float]) -> str:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


PRIORITIES: Mapping[str, float] = {
    Priority.routine: 55,
    Priority.urgent: 33,
    Priority.immediate: 12,
}
URGENCY = {
    "immediate_danger": 40,
    "exploiter_nearby": 30,
    "medical_emergency": 15,
    "pending_deportation": 10,
    "other": 5,
}
STAGES = {"presumed": 55, "identified": 40, "not_identified": 5}
GUARDIANS = {"guardianship_authority": 50, "legal_guardian": 25, "parent": 15, "institution": 10}
HANDOVER = {"police": "police_station", "border_police": "border_crossing", "ngo": "ngo_office"}
SCOPES = (
    ("identity", "contact", "needs", "risk"),
    ("identity", "needs", "risk"),
    ("identity", "contact", "needs"),
    ("needs", "risk"),
)
CALLING_CODES = {"AL": 355, "XK": 383, "BA": 387, "BG": 359, "MK": 389, "RO": 40, "RS": 381}
NEEDS = (
    "Safe accommodation and a medical check-up",
    "Psychological support and help replacing identity documents",
    "Legal counselling before giving a statement",
    "Vocational training and help finding work",
    "Family mediation before any return home",
    "School enrolment and support for the guardian",
)
RISKS = (
    "The recruiter knows where the family lives",
    "A debt to the exploiters is still being claimed",
    "Threatened by phone since leaving",
    "The exploiter has not been arrested",
    "Low: the group was convicted last year",
)


@dataclass(frozen=True)
class Person:
    female: bool
    child: bool
    nationality: str
    born: date
    forms: tuple[str, ...]


class Persons:
    """Draws persons, their envelopes and packets from the programme's random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def person(self, country: str, destination: str, at: datetime) -> Person:
        rng = self.rng
        female, child = rng.random() < 0.83, rng.random() < 0.38
        # Born `age` or `age + 1` years before the referral: a child stays under 18.
        age = rng.randint(10, 16) if child else rng.randint(18, 45)
        if destination != country:  # a return: the person goes home
            nationality = destination
        else:
            nationality = country if rng.random() < 0.85 else rng.choice(PROGRAMME_COUNTRIES)
        forms = {"sexual" if female and rng.random() < 0.75 else "labour"}
        if child and rng.random() < 0.3:
            forms.add("begging")
        if rng.random() < 0.08:
            forms.add(rng.choice(("criminal_activities", "forced_marriage")))
        born = date(2001, 1, 1) + timedelta(days=rng.randrange(365))  # never 29 February
        born = born.replace(year=at.year - age - 1)
        return Person(female, child, nationality, born, tuple(sorted(forms)))

    def consent(self, referrer: Referrer, at: datetime, person: Person, abroad: bool) -> Row:
        rng = self.rng
        return {
            "basis": "child_protection" if person.child and rng.random() < 0.3 else "consent",
            "scope": list(rng.choice(SCOPES)),
            "recorded_at": at - self.minutes(10, 600),
            "recorded_by": rng.choice(referrer.staff),
            "cross_border_consent": abroad,
        }

    def envelope(
        self,
        referrer: Referrer,
        recipient: DirectoryEntry,
        at: datetime,
        person: Person,
        *,
        consent: bool,
    ) -> Envelope:
        rng = self.rng
        priority = Priority(weighted(rng, PRIORITIES))
        reason = None if priority is Priority.routine else weighted(rng, URGENCY)
        if reason is not None and person.child and rng.random() < 0.5:
            reason = "child_at_risk"
        origin, destination = referrer.organisation.country, recipient.organisation.country
        abroad = origin != destination
        offered = sorted(recipient.offered)
        source = weighted(rng, referrer.sources)
        language = LANGUAGES[person.nationality]
        blocked = rng.sample(("family", "workplace", "home_visit"), rng.randint(0, 2))
        reflection = None
        if not person.child and rng.random() < 0.6:
            ends = at.date() + timedelta(days=rng.randint(30, 90))
            reflection = {"starts_on": at.date(), "ends_on": ends}
        handover = None
        if rng.random() < 0.6:
            location = HANDOVER.get(source, "ngo_office")
            handover = {"proposed_at": at + self.minutes(60, 2_880), "location_type": location}
        guardian = None
        if person.child:
            guardian = {"recorded": True, "type": weighted(rng, GUARDIANS)}
        document = {
            "priority": priority,
            "urgency_reason": reason,
            "requested_services": rng.sample(offered, min(len(offered), rng.randint(1, 3))),
            "jurisdiction": origin,
            "cross_border": {"origin_country": origin, "destination_country": destination}
            if abroad
            else None,
            "identification_stage": weighted(rng, STAGES),
            "reflection_period": reflection,
            "safety": {
                "immediate_danger": reason == "immediate_danger",
                "do_not_contact_via": blocked,
            },
            "language": language,
            "interpreter_needed": language not in recipient.provider["languages"],
            "is_child": person.child,
            "guardian": guardian,
            "handover": handover,
            # Every cross-border referral here is a return to the country of origin.
            "return_risk_assessment_recorded": abroad,
            "consent": self.consent(referrer, at, person, abroad) if consent else None,
            "sex": "female" if person.female else "male",
            "countries_of_origin": [person.nationality],
            "exploitation_forms": list(person.forms),
            "referral_source": source,
        }
        return Envelope.model_validate(document)

    def packet(self, person: Person, envelope: Envelope) -> PersonPacket:
        rng, nationality = self.rng, person.nationality
        given = rng.choice((GIVEN_FEMALE if person.female else GIVEN_MALE)[nationality])
        surname = family_name(rng.choice(FAMILY[nationality]), female=person.female)
        channels = [
            channel
            for channel in (ContactChannel.phone, ContactChannel.sms, ContactChannel.email)
            if channel not in envelope.safety.do_not_contact_via
        ]
        channel, number = rng.choice(channels), rng.randint(1_000, 9_999)
        details = (
            f"safe-contact-{number}@example.org"
            if channel is ContactChannel.email
            else f"+{CALLING_CODES[nationality]}0000{number}"
        )
        contact = SafeContact(channel=channel, details=details) if rng.random() < 0.75 else None
        identity = PersonIdentity(
            given_names=given,
            family_names=surname,
            date_of_birth=person.born,
            nationality=nationality,
        )
        return PersonPacket(
            identity=identity,
            safe_contact=contact,
            needs_summary=rng.choice(NEEDS),
            risk_summary=rng.choice(RISKS),
        )
