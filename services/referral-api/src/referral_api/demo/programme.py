"""The synthetic referrals of the programme, grouped for loading organisation pair by pair.

Shaped on ../shared/domain.md and the Belgian pattern: about half of the persons
come from the police, most of the rest from social and official organisations,
some from NGOs referring to each other or forwarding what they cannot take. The
three demo referrers refer mostly within their country and, as a transnational
mechanism, back to the person's country of origin (with the cross-border consent
and the return risk assessment that needs).

Two periods, with a fixed seed (the same ids on every run):

- the programme years (2007-2014): every referral ended long ago and its person
  packet was purged after the retention window (no packet row, `packet_purged_at`);
- the last four weeks: a few dozen referrals in every state of the lifecycle, with
  packets of invented persons (`names.py`), sealed at load like any other.

No hand-off is recorded or queued, so accepted referrals show `handed_off_at`
null and no case. cases-api seeds its own demo cases, which no referral here
opened: calling its intake from the seed would open a second set of cases beside
them (and make the seed need a running cases-api). The deadlines of recent open
referrals still ahead are scheduled as submission schedules them; packets of
recent referrals that ended without a hand-off get their purge scheduled.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from baton.db import utcnow
from referral_api.config import ReferralSettings
from referral_api.demo.directory import DirectoryEntry, directory_entries
from referral_api.demo.paths import HISTORY_PATHS, PATHS, REASONS, RECENT_PLAN, Path, delay_range
from referral_api.demo.persons import Persons, weighted
from referral_api.demo.referrers import NGO_REFERRER, REFERRING, Referrer
from referral_api.demo.timeline import Actor, Walk
from referral_api.referrals import rules
from referral_api.referrals.clocks import Clock
from referral_api.referrals.envelope import Envelope
from referral_api.referrals.lifecycle import STEPS, Action, Party
from referral_api.referrals.schemas import PersonPacket
from referral_api.referrals.transitions import DECISIONS, UNHANDED_ENDS
from referral_api.referrals.vocabulary import BusinessStatus, Priority, ReferralStatus

SEED = 20_070_215
HISTORY = 1_500
FIRST_DAY, LAST_DAY = date(2007, 1, 1), date(2014, 6, 30)
RECENT_DAYS = 28
PACKET_SHARE = 0.9  # help is never conditional on identification: some carry none

Row = dict[str, Any]
MOMENTS = (
    "submitted_at",
    "acknowledged_at",
    "decided_at",
    "accepted_at",
    "first_contact_at",
    "acknowledge_due_at",
    "decision_due_at",
    "first_contact_due_at",
    "handed_off_at",
    "packet_purged_at",
    "created_at",
    "updated_at",
)


@dataclass
class Batch:
    """One organisation pair's referrals of one generation, loaded in one transaction."""

    referrer: uuid.UUID
    recipient: uuid.UUID
    referrals: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    disclosures: list[Row] = field(default_factory=list)
    # Sealed at load (the vault is the loader's): the referral's row and its packet.
    packets: list[tuple[Row, PersonPacket]] = field(default_factory=list)
    deadlines: list[tuple[Row, Clock, datetime]] = field(default_factory=list)
    purges: list[Row] = field(default_factory=list)


@dataclass
class DemoReferrals:
    directory: list[DirectoryEntry]
    # (generation, referrer, recipient): forwards' children come after their parents.
    groups: dict[tuple[int, uuid.UUID, uuid.UUID], Batch] = field(default_factory=dict)

    @property
    def batches(self) -> list[Batch]:
        return [batch for _, batch in sorted(self.groups.items(), key=lambda item: item[0][0])]

    @property
    def referrals(self) -> list[Row]:
        return [row for batch in self.batches for row in batch.referrals]


class _Generator:
    def __init__(self, settings: ReferralSettings, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.settings, self.now = settings, now
        self.data = DemoReferrals(directory_entries(now))
        self.references: Counter[tuple[uuid.UUID, int]] = Counter()
        self.persons = Persons(self.rng)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def recipient(
        self, referrer: Referrer, recent: bool, *, besides: uuid.UUID | None = None
    ) -> DirectoryEntry:
        # Recent referrals go only where the directory says referrals are taken now.
        country = referrer.organisation.country
        candidates = [
            entry
            for entry in self.data.directory
            if entry.organisation.id not in (referrer.organisation.id, besides)
            and (entry.accepts_referrals or not recent)
        ]
        home = [entry for entry in candidates if entry.organisation.country == country]
        abroad = [entry for entry in candidates if entry.organisation.country != country]
        return self.rng.choice(abroad if self.rng.random() < referrer.abroad or not home else home)

    def batch(self, row: Row) -> Batch:
        key = (
            0 if row["parent_referral_id"] is None else 1,
            row["referrer_organisation_id"],
            row["recipient_organisation_id"],
        )
        if key not in self.data.groups:
            self.data.groups[key] = Batch(key[1], key[2])
        return self.data.groups[key]

    def walk(
        self,
        referrer: Referrer,
        recipient: DirectoryEntry,
        envelope: Envelope,
        at: datetime,
        *,
        recent: bool,
        has_packet: bool,
        parent: Walk | None = None,
    ) -> Walk:
        referral_id = self.new_id()
        if parent is None:
            self.references[(referrer.organisation.id, at.year)] += 1
            count = self.references[(referrer.organisation.id, at.year)]
            reference = f"{referrer.prefix}-{at.year}-{count:05d}"
        else:
            reference = f"forward-of-{parent.row['id']}"
        row: Row = {
            "id": referral_id,
            "referrer_organisation_id": referrer.organisation.id,
            "recipient_organisation_id": recipient.organisation.id,
            "parent_referral_id": None if parent is None else parent.row["id"],
            "referrer_reference": reference,
            "status": ReferralStatus.draft,
            "business_status": None,
            "priority": envelope.priority,
            "envelope": envelope.model_dump(mode="json"),
            "created_by": self.rng.choice(referrer.staff),
            **dict.fromkeys(MOMENTS),
            "case_id": None,
            "beneficiary_id": None,
            "has_packet": has_packet,
            "version": 1,
        }
        return Walk(row, self.settings, self.now, self.new_id, recent=recent)

    def actor(self, walk: Walk, action: Action, referrer: Referrer) -> Actor:
        if STEPS[action].party is Party.referrer:
            return Actor(self.rng.choice(referrer.staff), referrer.organisation.id)
        if action in DECISIONS:
            return Actor("demo-case-manager", walk.row["recipient_organisation_id"])
        worker = f"demo-caseworker-{self.rng.randint(1, 4)}"
        return Actor(worker, walk.row["recipient_organisation_id"])

    def steps(
        self, walk: Walk, steps: tuple[str, ...], referrer: Referrer, parent: Walk | None = None
    ) -> None:
        priority = Priority(walk.row["priority"])
        for token in steps:
            name, _, fixed = token.partition(":")
            action = Action(name)
            at = walk.after(self.rng.uniform(*delay_range(name, priority)))
            reason = fixed or self.reason(action)
            walk.take(action, at, self.actor(walk, action, referrer), reason)
            if parent is not None:
                self.settle(parent, walk, at)

    def reason(self, action: Action) -> str | None:
        choices = REASONS.get(action)
        return None if choices is None else weighted(self.rng, choices)

    @staticmethod
    def settle(parent: Walk, child: Walk, at: datetime) -> None:
        """What `transitions._settle_parent` does when a forward's child is decided."""
        if parent.row["business_status"] != BusinessStatus.forwarded:
            return
        if child.status is ReferralStatus.accepted:
            parent.settle("transferred", ReferralStatus.completed, BusinessStatus.transferred, at)
        elif child.status in UNHANDED_ENDS:
            declined = BusinessStatus.forward_declined
            parent.settle("forward-declined", ReferralStatus.received, declined, at)

    def referral(self, path: Path, at: datetime, *, recent: bool) -> None:
        rng = self.rng
        referrer = rng.choices(REFERRING, [referrer.share for referrer in REFERRING])[0]
        recipient = self.recipient(referrer, recent)
        person = self.persons.person(
            referrer.organisation.country, recipient.organisation.country, at
        )
        sent = not path.draft or "submit" in path.steps
        envelope = self.persons.envelope(
            referrer, recipient, at, person, consent=sent or rng.random() < 0.6
        )
        has_packet = rng.random() < PACKET_SHARE
        packet = self.persons.packet(person, envelope) if has_packet and recent else None
        if sent:
            rules.check_submittable(envelope, packet)
        walk = self.walk(referrer, recipient, envelope, at, recent=recent, has_packet=has_packet)
        walk.create(at, Actor(walk.row["created_by"], referrer.organisation.id), draft=path.draft)
        self.steps(walk, path.steps, referrer)
        if path.child is not None:
            forwarder = NGO_REFERRER[recipient.organisation.id]
            onward = self.recipient(forwarder, recent, besides=referrer.organisation.id)
            child = self.walk(
                forwarder, onward, envelope, at, recent=recent, has_packet=has_packet, parent=walk
            )
            child.create(walk.last_moment, self.actor(walk, Action.forward, referrer), draft=False)
            self.steps(child, path.child, forwarder, parent=walk)
            self.steps(walk, path.after, referrer)
            self.finish(child, packet, recent=recent)
        self.finish(walk, packet, recent=recent)

    def finish(self, walk: Walk, packet: PersonPacket | None, *, recent: bool) -> None:
        ahead = walk.escalate()
        row, batch = walk.row, self.batch(walk.row)
        batch.referrals.append(row)
        batch.events.extend(walk.events)
        batch.deadlines.extend((row, clock, due) for clock, due in ahead)
        opened = self.minutes(10, 600)  # the recipient reads the packet after accepting
        if not row["has_packet"]:
            return
        if row["accepted_at"] is not None:
            batch.disclosures.append(
                self.disclosure(row, min(row["accepted_at"] + opened, self.now))
            )
        if not recent:
            retention = timedelta(days=self.settings.packet_retention_days)
            row["packet_purged_at"] = walk.last_moment + retention
            return
        assert packet is not None
        batch.packets.append((row, packet))
        # Ended without a hand-off, or transferred: its purge is scheduled, as the step would.
        if row["status"] in UNHANDED_ENDS or row["business_status"] == BusinessStatus.transferred:
            batch.purges.append(row)

    def disclosure(self, row: Row, at: datetime) -> Row:
        consent = row["envelope"]["consent"]
        return {
            "id": self.new_id(),
            "referral_id": row["id"],
            "referrer_organisation_id": row["referrer_organisation_id"],
            "recipient_organisation_id": row["recipient_organisation_id"],
            "subject": f"demo-caseworker-{self.rng.randint(1, 4)}",
            "field_groups": consent["scope"],
            "consent_basis": consent["basis"],
            "created_at": at,
        }

    def history(self) -> None:
        day = FIRST_DAY + timedelta(days=self.rng.randrange((LAST_DAY - FIRST_DAY).days + 1))
        at = datetime.combine(day, time(7), tzinfo=UTC) + self.minutes(0, 14 * 60)
        self.referral(PATHS[weighted(self.rng, HISTORY_PATHS)], at, recent=False)

    def recent(self, name: str) -> None:
        at = self.now - self.minutes(12 * 60, RECENT_DAYS * 24 * 60)
        self.referral(PATHS[name], at, recent=True)


def generate(
    settings: ReferralSettings, now: datetime | None = None, seed: int = SEED
) -> DemoReferrals:
    """The directory and the referrals; the same ids whenever it runs (times follow `now`)."""
    generator = _Generator(settings, now or utcnow(), seed)
    for _ in range(HISTORY):
        generator.history()
    for name, count in RECENT_PLAN:
        for _ in range(count):
            generator.recent(name)
    return generator.data
