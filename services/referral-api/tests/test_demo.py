"""The demo's directory and referrals: loaded once, in the Belgian proportions, in every
state, with timelines the lifecycle allows; recent packets sealed, old ones purged."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from baton.db import Database, utcnow
from baton.stack.databases import ServiceDatabase
from baton.stack.programme import NGOS, PROGRAMME_COUNTRIES, REFERRERS
from baton.testing import run_service_command
from baton.testing_issuer import Caller, CallerFactory
from referral_api.config import ReferralSettings
from referral_api.demo.load import load_demo
from referral_api.demo.programme import DemoReferrals, generate
from referral_api.main import open_vault
from referral_api.referrals import packets
from referral_api.referrals.clocks import Clock
from referral_api.referrals.exceptions import InvalidTransition
from referral_api.referrals.lifecycle import STEPS, Action, check, target_of
from referral_api.referrals.schemas import PersonPacket
from referral_api.referrals.vocabulary import BusinessStatus, FieldGroup, ReferralStatus
from referral_factories import REFERRALS, step

NGO_IDS = [ngo.id for ngo in NGOS]
SENDERS = [organisation.id for organisation in (*REFERRERS, *NGOS)]
# Demo referrals: between the demo's organisations (other tests use fresh ones).
DEMO = "referrer_organisation_id = ANY($1::uuid[]) AND recipient_organisation_id = ANY($2::uuid[])"
OFFICIAL_SOURCES = {"social_services", "border_police", "labour_inspection"}
OFFICIAL_SOURCES |= {"international_organisation"}
# Creation, and the steps the service takes itself: (from, to, business status).
SERVICE_STEPS: dict[str, tuple[str | None, str, str | None]] = {
    "created": (None, ReferralStatus.draft, None),
    "submitted": (None, ReferralStatus.requested, None),
    "transferred": (ReferralStatus.on_hold, ReferralStatus.completed, BusinessStatus.transferred),
    "forward-declined": (
        ReferralStatus.on_hold,
        ReferralStatus.received,
        BusinessStatus.forward_declined,
    ),
}
# Recorded without moving the referral.
STILL = frozenset({"escalated", "handed-off", "edited"})
REASON_REQUIRED = frozenset({"reject", "cancel", "hold", "fail", "request-info", "escalated"})


@pytest.fixture
async def demo(referral_settings: ReferralSettings) -> DemoReferrals:
    """The demo in the test database (the first call loads it; later ones add nothing)."""
    programme = generate(referral_settings)
    database = Database(referral_settings, application_name="referral-tests-demo")
    try:
        vault = open_vault(referral_settings)
        await load_demo(database.sessionmaker, vault, referral_settings, programme)
    finally:
        await database.dispose()
    return programme


def _seed_command(env: dict[str, str]) -> dict[str, Any]:
    """`python -m referral_api seed-demo` as an operator runs it: its JSON report."""
    run = run_service_command("referral_api", ["seed-demo"], env)
    assert run.code == 0, run.stderr
    return run.report


async def _demo_referrals(superuser: asyncpg.Connection) -> list[asyncpg.Record]:
    query = f"SELECT * FROM referral WHERE {DEMO} ORDER BY id"
    return list(await superuser.fetch(query, SENDERS, NGO_IDS))


async def _counts(superuser: asyncpg.Connection) -> dict[str, int]:
    counts = {}
    for table in ("referral_event", "referral_packet", "packet_disclosure"):
        counts[table] = await superuser.fetchval(
            f"SELECT count(*) FROM {table} WHERE {DEMO}", SENDERS, NGO_IDS
        )
    counts["referral"] = len(await _demo_referrals(superuser))
    counts["provider"] = await superuser.fetchval(
        "SELECT count(*) FROM provider WHERE organisation_id = ANY($1::uuid[])", NGO_IDS
    )
    return counts


async def test_seeding_again_adds_nothing(
    demo: DemoReferrals,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
    referral_keys_dir: Path,
) -> None:
    loaded = await _counts(superuser)
    assert loaded["provider"] == len(NGOS) == len(demo.directory)
    assert loaded["referral"] == len(demo.referrals)
    assert loaded["referral_packet"] == sum(len(batch.packets) for batch in demo.batches)
    env = {
        "REFERRALS_DATABASE_URL": service_databases["referrals"].runtime_url,
        "REFERRALS_MASTER_KEYS_DIR": str(referral_keys_dir / "master"),
        "REFERRALS_ENVIRONMENT": "test",
    }
    report = await asyncio.to_thread(_seed_command, env)
    assert report == {"providers_added": 0, "referrals_added": 0}
    assert await _counts(superuser) == loaded


async def test_about_half_come_from_the_police_and_every_status_is_there(
    demo: DemoReferrals, superuser: asyncpg.Connection
) -> None:
    rows = await _demo_referrals(superuser)
    sent = [row for row in rows if row["submitted_at"] is not None]
    sources = Counter(json.loads(row["envelope"])["referral_source"] for row in sent)
    assert 0.45 <= sources["police"] / len(sent) <= 0.55
    rest = len(sent) - sources["police"]
    assert sum(sources[source] for source in OFFICIAL_SOURCES) / rest > 0.5
    by_ngos = sum(row["referrer_organisation_id"] in NGO_IDS for row in rows) / len(rows)
    assert 0.05 <= by_ngos <= 0.25
    assert {row["status"] for row in rows} == set(ReferralStatus)
    businesses = {row["business_status"] for row in rows}
    assert {"awaiting-information", "forwarded", "transferred"} <= businesses
    children = Counter(row["parent_referral_id"] for row in rows if row["parent_referral_id"])
    transferred = [row for row in rows if row["business_status"] == "transferred"]
    assert transferred
    assert all(children[row["id"]] == 1 for row in transferred)
    # Every NGO receives referrals; most of them are history.
    assert {row["recipient_organisation_id"] for row in rows} == set(NGO_IDS)
    assert len(rows) >= 1_500
    assert len(rows) == len(demo.referrals)


async def test_recent_packets_are_sealed_and_old_ones_purged(
    demo: DemoReferrals, superuser: asyncpg.Connection
) -> None:
    rows = await _demo_referrals(superuser)
    sealed = {
        record["referral_id"]: record
        for record in await superuser.fetch(
            f"SELECT * FROM referral_packet WHERE {DEMO}", SENDERS, NGO_IDS
        )
    }
    month_ago = utcnow() - timedelta(days=31)
    recent = [row for row in rows if row["created_at"] > month_ago]
    old = [row for row in rows if row["created_at"].year < 2015]
    assert 24 <= len(recent) <= 60
    assert len(old) + len(recent) == len(rows)
    for row in old:
        assert row["id"] not in sealed
        assert (row["packet_purged_at"] is not None) == row["has_packet"]
    for row in recent:
        assert (row["id"] in sealed) == row["has_packet"]
        assert row["packet_purged_at"] is None
        # No hand-off from the seed: cases-api's demo cases are its own.
        assert row["handed_off_at"] is None
        assert row["case_id"] is None
    expected = {row["id"]: packet for batch in demo.batches for row, packet in batch.packets}
    for referral_id, record in sealed.items():
        identity = expected[referral_id].identity
        assert identity is not None
        assert identity.given_names.encode() not in record["ciphertext"]


async def test_a_recent_packet_opens_for_its_recipient_after_acceptance(
    demo: DemoReferrals,
    referrals: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    row = await superuser.fetchrow(
        f"SELECT * FROM referral WHERE {DEMO} AND status IN ('requested', 'received') "
        "AND id IN (SELECT referral_id FROM referral_packet) "
        "AND envelope->'consent'->'scope' ? 'identity' ORDER BY id LIMIT 1",
        SENDERS,
        NGO_IDS,
    )
    assert row is not None
    referral_id = str(row["id"])
    manager = caller("ngo", ["case_manager"], org_id=row["recipient_organisation_id"])
    path = f"{REFERRALS}/{referral_id}/packet"
    unreleased = await referrals.get(path, headers=manager.headers)
    assert (unreleased.status_code, unreleased.json()["code"]) == (403, "packet-not-released")

    accepted = await step(referrals, manager, referral_id, "accept")
    assert accepted.status_code == 200, accepted.text
    released = await referrals.get(path, headers=manager.headers)
    assert released.status_code == 200, released.text
    scope = [FieldGroup(group) for group in json.loads(row["envelope"])["consent"]["scope"]]
    assert released.json()["field_groups"] == sorted(scope)
    planted = {r["id"]: packet for batch in demo.batches for r, packet in batch.packets}
    packet = PersonPacket.model_validate(released.json()["packet"])
    assert packet == packets.within(planted[row["id"]], scope)

    old = await superuser.fetchrow(
        f"SELECT * FROM referral WHERE {DEMO} AND has_packet AND accepted_at IS NOT NULL "
        "AND created_at < '2015-01-01' ORDER BY id LIMIT 1",
        SENDERS,
        NGO_IDS,
    )
    assert old is not None
    recipient = caller("ngo", ["case_manager"], org_id=old["recipient_organisation_id"])
    purged = await referrals.get(f"{REFERRALS}/{old['id']}/packet", headers=recipient.headers)
    assert (purged.status_code, purged.json()["code"]) == (410, "packet-purged")


def _timeline_problems(referral: asyncpg.Record, events: list[asyncpg.Record]) -> list[str]:
    """What in this timeline the lifecycle does not allow (empty: nothing)."""
    problems: list[str] = []
    status: str | None = None
    business: str | None = None
    accepted = False
    for event in events:
        action, reason = event["action"], event["reason_code"]
        if event["from_status"] != status:
            problems.append(f"{action} from {event['from_status']}, but it was {status}")
        if action in STILL:
            moved: tuple[str | None, str | None] = (status, business)
        elif action in SERVICE_STEPS:
            source, target, then = SERVICE_STEPS[action]
            if status != source:
                problems.append(f"{action} from {status}")
            moved = (target, then)
        else:
            lifecycle_step = STEPS[Action(action)]
            try:
                check(Action(action), ReferralStatus(str(status)), business, accepted=accepted)
            except (InvalidTransition, ValueError) as error:
                problems.append(f"{action}: {error}")
            to = target_of(lifecycle_step, reason)
            moved = (to, business if action == "submit" else lifecycle_step.business_status)
        if (event["to_status"], event["business_status"]) != moved:
            problems.append(f"{action} led to {event['to_status']}, not {moved[0]}")
        if action in REASON_REQUIRED and not reason:
            problems.append(f"{action} without a reason code")
        if action == "escalated" and reason not in set(Clock):
            problems.append(f"escalated for {reason}")
        status, business = event["to_status"], event["business_status"]
        accepted = accepted or action == "accept"
    if (status, business) != (referral["status"], referral["business_status"]):
        problems.append(f"ends {status}, the referral is {referral['status']}")
    return problems


def _when(moment: datetime | None, events: list[datetime]) -> bool:
    """Whether `moment` is the (last) event's time, or both are absent."""
    if not events:
        return moment is None
    return moment is not None and abs(moment - events[-1]) < timedelta(seconds=1)


async def test_every_timeline_follows_the_lifecycle(
    demo: DemoReferrals, superuser: asyncpg.Connection
) -> None:
    referrals = {row["id"]: row for row in await _demo_referrals(superuser)}
    timelines: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
    for event in await superuser.fetch(
        f"SELECT * FROM referral_event WHERE {DEMO} ORDER BY referral_id, created_at",
        SENDERS,
        NGO_IDS,
    ):
        timelines[event["referral_id"]].append(event)
    assert set(timelines) == set(referrals)
    assert len(referrals) == len(demo.referrals)
    escalated = 0
    for referral_id, referral in referrals.items():
        events = timelines[referral_id]
        assert _timeline_problems(referral, events) == [], referral_id
        moments = [event["created_at"] for event in events]
        assert moments == sorted(set(moments)), referral_id
        assert referral["created_at"] == moments[0]
        # A step of the API stamps the referral and its event a few milliseconds apart.
        sent = [e["created_at"] for e in events if e["action"] in ("submitted", "submit")]
        assert _when(referral["submitted_at"], sent), referral_id
        accepted = [e["created_at"] for e in events if e["action"] == "accept"]
        assert _when(referral["accepted_at"], accepted), referral_id
        for event in events:
            if event["action"] == "escalated":
                escalated += 1
                # The handler runs once the deadline is due, never before.
                assert event["created_at"] >= referral[f"{event['reason_code']}_due_at"]
    # Deadlines are missed now and then, never as a rule.
    assert 0.05 <= escalated / len(referrals) <= 0.5


async def _listed(client: httpx.AsyncClient, reader: Caller, **params: str) -> set[uuid.UUID]:
    """Organisations of every provider listed for these filters (all pages)."""
    found: set[uuid.UUID] = set()
    cursor: str | None = None
    while True:
        query = {**params, "limit": "100", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/providers", params=query, headers=reader.headers)
        assert response.status_code == 200, response.text
        found |= {uuid.UUID(item["organisation_id"]) for item in response.json()["items"]}
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def test_the_directory_finds_the_demo_ngos_by_country_and_service(
    demo: DemoReferrals, referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    police = caller("government", ["referrer"])
    for country in PROGRAMME_COUNTRIES:
        listed = await _listed(referrals, police, country=country) & set(NGO_IDS)
        assert listed == {ngo.id for ngo in NGOS if ngo.country == country}, country
    by_service: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    for entry in demo.directory:
        for offered in entry.services:
            for group in offered["target_groups"]:
                by_service[(offered["service_type"], group)].add(entry.organisation.id)
    assert by_service[("accommodation", "men")]  # men are under-identified, not unserved
    for (service_type, group), expected in by_service.items():
        listed = await _listed(
            referrals, police, service_type=service_type, target_group=group
        ) & set(NGO_IDS)
        assert listed == expected, (service_type, group)
    demo_providers = {entry.provider["id"] for entry in demo.directory}
    with_room = {
        entry.provider["id"]
        for entry in demo.directory
        if entry.accepts_referrals
        and any(capacity["places_free"] > 0 for capacity in entry.capacities)
    }
    assert with_room
    found: set[uuid.UUID] = set()
    for country in PROGRAMME_COUNTRIES:
        answer = await referrals.get(
            "/v1/providers/capacity",
            params={"service_type": "accommodation", "country": country},
            headers=police.headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["truncated"] is False
        found |= {uuid.UUID(item["provider_id"]) for item in answer.json()["items"]}
    assert found & demo_providers == with_room
