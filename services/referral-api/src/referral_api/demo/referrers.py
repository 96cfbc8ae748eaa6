"""Who refers in the demo, what they name as the source, and how often across a border.

The Belgian pattern: about half of the persons come from the police (the
Albanian anti-trafficking unit; the Serbian interior ministry's unit, which also
passes on cases of border police and labour inspectors), most of the rest from
social and official organisations (the Skopje centre for social work, which also
relays international organisations, families and persons who came by
themselves), some from NGOs; forwards add NGO-to-NGO referrals on top. Referrals
across a border are returns to the person's country of origin (the transnational
mechanism).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from baton.stack.programme import NGOS, REFERRERS, DemoOrganisation


@dataclass(frozen=True)
class Referrer:
    organisation: DemoOrganisation
    share: float  # of the referrals submitted directly
    sources: Mapping[str, float]  # the envelope's `referral_source`
    prefix: str  # of its own references
    staff: tuple[str, ...]  # subjects of those who submit
    abroad: float  # share referred to an NGO of another country


POLICE_AL, MINISTRY_RS, CENTRE_MK = REFERRERS
GOVERNMENT = (
    Referrer(
        POLICE_AL,
        0.40,
        {"police": 85, "border_police": 15},
        "ASP",
        ("demo-officer-1", "demo-officer-2", "demo-officer-3"),
        0.35,
    ),
    Referrer(
        MINISTRY_RS,
        0.20,
        {"police": 70, "border_police": 15, "labour_inspection": 15},
        "MUP",
        ("demo-inspector-1", "demo-inspector-2"),
        0.40,
    ),
    Referrer(
        CENTRE_MK,
        0.28,
        {"social_services": 70, "international_organisation": 12, "self": 10, "family": 8},
        "CSR",
        ("demo-social-worker-1", "demo-social-worker-2"),
        0.30,
    ),
)
# NGOs submit through their case managers, and forward what they cannot take.
NGO_REFERRERS = tuple(
    Referrer(ngo, 0.08 / len(NGOS), {"ngo": 1}, "REF", ("demo-case-manager",), 0.4) for ngo in NGOS
)
REFERRING = GOVERNMENT + NGO_REFERRERS
NGO_REFERRER = {referrer.organisation.id: referrer for referrer in NGO_REFERRERS}
