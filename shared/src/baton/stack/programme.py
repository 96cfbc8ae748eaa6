"""The synthetic programme the demo data is shaped on (../shared/domain.md).

Seven countries, fifteen partner NGOs with invented names, a foundation and a
co-funding development agency, referring police and social services, and the
platform operator. Fixed ids, so every service's demo data names the same tenants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from baton.auth import OrgKind

PROGRAMME_COUNTRIES = ("AL", "BA", "BG", "XK", "MK", "RO", "RS")
PROGRAMME_YEARS = (2007, 2014)


@dataclass(frozen=True)
class DemoOrganisation:
    id: uuid.UUID
    name: str
    kind: OrgKind
    country: str


def _org(number: int, name: str, kind: OrgKind, country: str) -> DemoOrganisation:
    return DemoOrganisation(
        uuid.UUID(f"6f1c1c5e-0a4e-4d55-9a57-1d9c0c1a{number:04d}"), f"{name} (demo)", kind, country
    )


NGO_TIRANA = _org(1, "Shtëpia e Shpresës", OrgKind.ngo, "AL")
NGO_SKOPJE = _org(2, "Nov Pat", OrgKind.ngo, "MK")
POLICE = _org(3, "State Police, Anti-Trafficking Unit", OrgKind.government, "AL")
FOUNDATION = _org(4, "Re/integration Foundation", OrgKind.donor, "BE")
PLATFORM = _org(5, "Baton operator", OrgKind.platform, "BE")
DEVELOPMENT_AGENCY = _org(6, "Development Cooperation Agency", OrgKind.donor, "DE")

NGOS = (
    NGO_TIRANA,
    _org(11, "Rruga e Re", OrgKind.ngo, "AL"),
    _org(12, "Novi Put Sarajevo", OrgKind.ngo, "BA"),
    _org(13, "Sigurna Kuća Tuzla", OrgKind.ngo, "BA"),
    _org(14, "Nadezhda Sofia", OrgKind.ngo, "BG"),
    _org(15, "Zhiva Voda Varna", OrgKind.ngo, "BG"),
    _org(16, "Hapi i Parë Prishtina", OrgKind.ngo, "XK"),
    _org(17, "Dritare Prizren", OrgKind.ngo, "XK"),
    NGO_SKOPJE,
    _org(18, "Otvoren Prozor Bitola", OrgKind.ngo, "MK"),
    _org(19, "Drum Nou București", OrgKind.ngo, "RO"),
    _org(20, "Casa Speranței Iași", OrgKind.ngo, "RO"),
    _org(21, "Punte Timișoara", OrgKind.ngo, "RO"),
    _org(22, "Novi Korak Beograd", OrgKind.ngo, "RS"),
    _org(23, "Zaštita Novi Sad", OrgKind.ngo, "RS"),
)
REFERRERS = (
    POLICE,
    _org(31, "Ministry of Interior, Trafficking Unit", OrgKind.government, "RS"),
    _org(32, "Centre for Social Work Skopje", OrgKind.government, "MK"),
)
DONORS = (FOUNDATION, DEVELOPMENT_AGENCY)

ORGANISATIONS = (*NGOS, *REFERRERS, *DONORS, PLATFORM)
