"""The fifteen demo NGOs as directory entries: where they work, what they offer, to whom.

About half run a shelter (one of them for men, who are under-identified), with the
places free now; two take no referrals at the moment. Regions are ISO 3166-2
subdivisions of each NGO's country; Kosovo has none in the standard (its code is
user-assigned), so its providers name no region and serve the whole country.
No entry carries an address or a telephone number: intake e-mails use the
reserved `.example` domain.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baton.stack.programme import NGOS, DemoOrganisation
from referral_api.vocabulary import ExploitationForm, ServiceType, TargetGroup

SEED = 20_070_301
Row = dict[str, Any]
CAPACITY_REPORTER = "demo-shelter-coordinator"


@dataclass(frozen=True)
class Reach:
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    # Whom its shelter takes; None: it runs no shelter.
    shelter: tuple[TargetGroup, ...] | None = None
    available_24_7: bool = False
    accepts_referrals: bool = True


W, M, G, B = TargetGroup.women, TargetGroup.men, TargetGroup.girls, TargetGroup.boys
# In the order of `baton.stack.programme.NGOS`.
REACH = (
    Reach(("AL-11", "AL-02", "AL-03"), ("sq", "en", "it"), (W, G), available_24_7=True),
    Reach(("AL-10", "AL-08", "AL-07"), ("sq", "en")),
    Reach(("BA-BIH",), ("bs", "hr", "sr", "en")),
    Reach(("BA-BIH", "BA-BRC"), ("bs", "hr", "sr"), (W, G, B), available_24_7=True),
    Reach(("BG-22", "BG-23", "BG-14"), ("bg", "en"), (W, G)),
    Reach(("BG-03", "BG-08", "BG-27", "BG-02"), ("bg", "tr", "en")),
    Reach((), ("sq", "sr", "en"), (W, G, B), available_24_7=True),
    Reach((), ("sq", "tr"), accepts_referrals=False),
    Reach(
        ("MK-814", "MK-815", "MK-804", "MK-808"), ("mk", "sq", "en"), (W, M), available_24_7=True
    ),
    Reach(("MK-501", "MK-508", "MK-509", "MK-310"), ("mk", "en")),
    Reach(("RO-B", "RO-IF"), ("ro", "en"), (M,)),
    Reach(("RO-IS", "RO-VS", "RO-NT", "RO-BT", "RO-SV"), ("ro", "en", "it"), (W, G)),
    Reach(("RO-TM", "RO-AR", "RO-CS"), ("ro", "hu", "de"), accepts_referrals=False),
    Reach(("RS-00", "RS-10", "RS-12"), ("sr", "en"), (W, G, B), available_24_7=True),
    Reach(("RS-06", "RS-07", "RS-01"), ("sr", "hu", "en")),
)
# Besides case monitoring and psychological support, which every partner gives.
OPTIONAL_SERVICES = (
    ServiceType.medical,
    ServiceType.legal,
    ServiceType.education,
    ServiceType.vocational_training,
    ServiceType.economic_empowerment,
    ServiceType.family_mediation,
    ServiceType.secondary_beneficiary_support,
    ServiceType.documentation,
    ServiceType.return_assistance,
)
ELIGIBILITY = {
    ServiceType.accommodation: "Presumed and identified victims, referred by the police, "
    "social services or a partner",
    ServiceType.return_assistance: "Persons returning to their country of origin, "
    "with a recorded risk assessment",
    ServiceType.secondary_beneficiary_support: "Family members of persons the NGO assists",
}


@dataclass
class DirectoryEntry:
    """One NGO's entry with its services and shelter capacity, as rows for bulk inserts."""

    organisation: DemoOrganisation
    provider: Row
    services: list[Row] = field(default_factory=list)
    capacities: list[Row] = field(default_factory=list)

    @property
    def offered(self) -> set[str]:
        return {service["service_type"] for service in self.services}

    @property
    def accepts_referrals(self) -> bool:
        return bool(self.provider["accepts_referrals"])


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(word for word in folded.lower().replace("(demo)", "").split())


class _Entries:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def entry(self, ngo: DemoOrganisation, reach: Reach) -> DirectoryEntry:
        if any(region[:2] != ngo.country for region in reach.regions):
            raise ValueError(f"a region of {ngo.name} lies outside {ngo.country}")
        provider = {
            "id": self.new_id(),
            "organisation_id": ngo.id,
            "name": ngo.name,
            "country": ngo.country,
            "description": "Re/integration of survivors of trafficking: case management, "
            "counselling and support towards independent living",
            "regions_served": sorted(reach.regions),
            "languages": sorted(reach.languages),
            "available_24_7": reach.available_24_7,
            "accepts_referrals": reach.accepts_referrals,
            "intake_phone": None,
            "intake_email": f"intake@{_ascii(ngo.name)}.example",
            "active": True,
            "version": 1,
            "created_at": self.now,
            "updated_at": self.now,
        }
        entry = DirectoryEntry(ngo, provider)
        kinds = [ServiceType.case_monitoring, ServiceType.psychological]
        kinds += self.rng.sample(OPTIONAL_SERVICES, self.rng.randint(2, 5))
        if reach.shelter is not None:
            self.service(entry, ServiceType.accommodation, list(reach.shelter))
        for kind in kinds:
            groups = [W, M, G, B] if self.rng.random() < 0.6 else [W, G]
            if kind is ServiceType.secondary_beneficiary_support:
                groups = [TargetGroup.families]
            self.service(entry, kind, groups)
        return entry

    def service(self, entry: DirectoryEntry, kind: ServiceType, groups: list[TargetGroup]) -> None:
        forms = {ExploitationForm.sexual, ExploitationForm.labour}
        if TargetGroup.girls in groups or TargetGroup.boys in groups:
            forms.add(ExploitationForm.begging)
        extras = (
            ExploitationForm.criminal_activities,
            ExploitationForm.forced_marriage,
            ExploitationForm.organ_removal,
        )
        forms |= {form for form in extras if self.rng.random() < 0.3}
        service_id = self.new_id()
        entry.services.append(
            {
                "id": service_id,
                "provider_id": entry.provider["id"],
                "organisation_id": entry.organisation.id,
                "service_type": kind.value,
                "target_groups": sorted(group.value for group in groups),
                "exploitation_forms": sorted(form.value for form in forms),
                "eligibility": ELIGIBILITY.get(kind),
                "version": 1,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        if kind is ServiceType.accommodation:
            total = self.rng.randint(6, 24)
            free = 0 if self.rng.random() < 0.25 else self.rng.randint(1, total // 2)
            entry.capacities.append(
                {
                    "service_id": service_id,
                    "organisation_id": entry.organisation.id,
                    "places_total": total,
                    "places_free": free,
                    "version": 1,
                    "updated_at": self.now - timedelta(hours=self.rng.randint(1, 72)),
                    "updated_by": CAPACITY_REPORTER,
                }
            )


def directory_entries(now: datetime, seed: int = SEED) -> list[DirectoryEntry]:
    """The fifteen entries; the same ids and contents on every run (timestamps: `now`)."""
    entries = _Entries(seed, now)
    return [entries.entry(ngo, reach) for ngo, reach in zip(NGOS, REACH, strict=True)]
