"""A referral is visible to exactly its two organisations: in the API, and underneath.

The API tests run twice: as the service is, and with its organisation filters switched
off (`test_row_level_security_alone`), where row-level security alone must refuse.
"""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from baton.testing import (
    assert_organisation_ends_with_its_transaction,
    assert_row_level_security_forced,
    with_and_without_organisation_filter,
)
from baton.testing_issuer import CallerFactory
from referral_factories import REFERRALS, STEP_BODIES, etag, parties, step, submit

PARTY_TABLES = ("referral", "referral_packet", "referral_event", "packet_disclosure")
WEBHOOK_TABLES = ("webhook_endpoint", "webhook_delivery")


async def _rows(
    connection: asyncpg.Connection, org_id: uuid.UUID | None, referral_id: str
) -> dict[str, int]:
    """How many rows of the referral each table shows to `org_id`, as the service would."""
    counts: dict[str, int] = {}
    async with connection.transaction():
        if org_id is not None:
            await connection.execute("SELECT set_config('baton.org_id', $1, true)", str(org_id))
        for table in PARTY_TABLES:
            column = "id" if table == "referral" else "referral_id"
            counts[table] = await connection.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = $1", uuid.UUID(referral_id)
            )
    return counts


@pytest.mark.usefixtures("service_databases")  # migrated before we look
async def test_row_level_security_is_forced_on_every_table_of_a_referral(
    superuser: asyncpg.Connection,
) -> None:
    rows = await superuser.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relname = ANY($1::text[])",
        list(PARTY_TABLES),
    )
    assert {
        row["relname"]: (row["relrowsecurity"], row["relforcerowsecurity"]) for row in rows
    } == dict.fromkeys(PARTY_TABLES, (True, True))
    policies = await superuser.fetch(
        "SELECT tablename, qual FROM pg_policies WHERE tablename = ANY($1::text[])",
        list(PARTY_TABLES),
    )
    assert len(policies) == len(PARTY_TABLES)
    for policy in policies:
        assert "referrer_organisation_id" in policy["qual"]
        assert "recipient_organisation_id" in policy["qual"]


async def test_a_third_organisation_sees_nothing_underneath(
    referrals: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.manager, referral["id"], "accept")
    read = await referrals.get(
        f"{REFERRALS}/{referral['id']}/packet", headers=people.manager.headers
    )
    assert read.status_code == 200

    everything = dict.fromkeys(PARTY_TABLES, 1) | {"referral_event": 2}
    assert await _rows(runtime, people.referrer.org_id, referral["id"]) == everything
    assert await _rows(runtime, people.recipient, referral["id"]) == everything
    nothing = dict.fromkeys(PARTY_TABLES, 0)
    assert await _rows(runtime, uuid.uuid4(), referral["id"]) == nothing
    assert await _rows(runtime, None, referral["id"]) == nothing


async def test_the_runtime_role_cannot_bypass_row_level_security(
    runtime: asyncpg.Connection,
) -> None:
    await assert_row_level_security_forced(runtime, PARTY_TABLES + WEBHOOK_TABLES)


async def test_the_organisation_does_not_outlive_its_transaction(
    referrals: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.manager, referral["id"], "accept")
    packet = f"{REFERRALS}/{referral['id']}/packet"  # its reading is disclosed
    assert (await referrals.get(packet, headers=people.manager.headers)).status_code == 200
    await assert_organisation_ends_with_its_transaction(
        runtime, people.referrer.org_id, PARTY_TABLES
    )


@with_and_without_organisation_filter
async def test_a_third_organisation_gets_not_found_everywhere(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    version = await etag(referrals, people.referrer, referral["id"])
    path = f"{REFERRALS}/{referral['id']}"
    for stranger in (caller("ngo", ["case_manager"]), caller("government", ["referrer"])):
        for reading in (path, f"{path}/timeline", f"{path}/packet", f"{path}/disclosures"):
            response = await referrals.get(reading, headers=stranger.headers)
            assert response.status_code == 404, (reading, response.text)
            assert response.json()["code"] == "referral-not-found"
        listed = await referrals.get(REFERRALS, headers=stranger.headers)
        assert listed.json()["items"] == []
    stranger = caller("ngo", ["case_manager"])
    for action in ("acknowledge", "accept", "cancel", "submit", "forward"):
        response = await step(
            referrals, stranger, referral["id"], action, STEP_BODIES.get(action), version=version
        )
        assert response.status_code == 404, action


@with_and_without_organisation_filter
async def test_donors_never_reach_referrals(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    donor = caller("donor", ["grant_manager", "donor_viewer", "auditor"])
    for path in (REFERRALS, f"{REFERRALS}/{referral['id']}"):
        response = await referrals.get(path, headers=donor.headers)
        assert response.status_code == 403
