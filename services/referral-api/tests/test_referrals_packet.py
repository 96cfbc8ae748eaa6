"""The person packet: sealed, released to the recipient after acceptance within the
consent's scope, every release logged, gone after the purge."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from baton.testing_issuer import CallerFactory
from referral_factories import (
    PLANTED,
    PLANTED_CONTACT,
    PLANTED_FAMILY,
    PLANTED_NEEDS,
    PLANTED_RISK,
    REFERRALS,
    consent,
    deliver,
    make_due,
    message_of,
    packet,
    parties,
    step,
    submit,
)


async def test_before_acceptance_the_recipient_sees_no_identity(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    path = f"{REFERRALS}/{referral['id']}"
    await step(referrals, people.caseworker, referral["id"], "acknowledge")
    for who in (people.caseworker, people.manager):
        refused = await referrals.get(f"{path}/packet", headers=who.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "packet-not-released"
        for reading in (path, f"{path}/timeline", REFERRALS):
            response = await referrals.get(reading, headers=who.headers)
            assert response.status_code == 200
            assert not any(value in response.text for value in PLANTED)
    disclosed = await referrals.get(f"{path}/disclosures", headers=people.manager.headers)
    assert disclosed.json()["items"] == []


async def test_after_acceptance_the_recipient_reads_the_consented_groups_only(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    scope = ["identity", "needs"]
    referral = await submit(
        referrals,
        people.referrer,
        people.recipient,
        consent=consent(scope, basis="vital_interest"),
    )
    path = f"{REFERRALS}/{referral['id']}/packet"
    await step(referrals, people.manager, referral["id"], "accept")
    response = await referrals.get(path, headers=people.caseworker.headers)
    assert response.status_code == 200, response.text
    released = response.json()
    assert released["field_groups"] == scope
    assert released["packet"]["identity"]["family_names"] == PLANTED_FAMILY
    assert released["packet"]["needs_summary"] == PLANTED_NEEDS
    assert released["packet"]["safe_contact"] is None
    assert released["packet"]["risk_summary"] is None
    assert PLANTED_CONTACT not in response.text
    assert PLANTED_RISK not in response.text

    # Logged: who, which organisation, from whom, which groups, under which basis.
    rows = await superuser.fetch(
        "SELECT * FROM packet_disclosure WHERE referral_id = $1", uuid.UUID(referral["id"])
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["subject"] == people.caseworker.subject
    assert row["recipient_organisation_id"] == people.recipient
    assert row["referrer_organisation_id"] == people.referrer.org_id
    assert row["field_groups"] == scope
    assert row["consent_basis"] == "vital_interest"
    assert row["created_at"] is not None
    listed = await referrals.get(
        f"{REFERRALS}/{referral['id']}/disclosures", headers=people.referrer.headers
    )
    assert [item["subject"] for item in listed.json()["items"]] == [people.caseworker.subject]

    await referrals.get(path, headers=people.manager.headers)
    count = await superuser.fetchval(
        "SELECT count(*) FROM packet_disclosure WHERE referral_id = $1", uuid.UUID(referral["id"])
    )
    assert count == 2


async def test_the_referrer_reads_its_own_packet_whole_without_a_disclosure(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(
        referrals, people.referrer, people.recipient, consent=consent(["needs"])
    )
    response = await referrals.get(
        f"{REFERRALS}/{referral['id']}/packet", headers=people.referrer.headers
    )
    assert response.status_code == 200
    assert response.json()["packet"] == packet()
    count = await superuser.fetchval(
        "SELECT count(*) FROM packet_disclosure WHERE referral_id = $1", uuid.UUID(referral["id"])
    )
    assert count == 0


async def test_after_the_hand_off_the_referrer_no_longer_reads_the_packet(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.manager, referral["id"], "accept")
    # As the hand-off handler records it once cases-api opened the case.
    await superuser.execute(
        "UPDATE referral SET handed_off_at = now(), case_id = $2 WHERE id = $1",
        uuid.UUID(referral["id"]),
        uuid.uuid4(),
    )
    path = f"{REFERRALS}/{referral['id']}/packet"
    refused = await referrals.get(path, headers=people.referrer.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "packet-not-released"
    assert PLANTED_FAMILY not in refused.text
    # The recipient still reads it until the purge; the referrer still sees the status.
    assert (await referrals.get(path, headers=people.manager.headers)).status_code == 200
    status = await referrals.get(f"{REFERRALS}/{referral['id']}", headers=people.referrer.headers)
    assert status.json()["status"] == "accepted"
    assert status.json()["case_id"] is None  # case content is the recipient's only


async def test_a_referral_without_a_packet_has_none_to_read(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient, packet=None)
    assert referral["packet_state"] == "none"
    response = await referrals.get(
        f"{REFERRALS}/{referral['id']}/packet", headers=people.referrer.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "packet-not-recorded"


async def test_a_forwarding_organisation_never_opens_the_packet_it_passes_on(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    parent = await submit(referrals, people.referrer, people.recipient)
    next_ngo = caller("ngo", ["case_manager"])
    child = await step(
        referrals,
        people.manager,
        parent["id"],
        "forward",
        {"recipient_organisation_id": str(next_ngo.org_id)},
    )
    child_path = f"{REFERRALS}/{child.json()['id']}/packet"
    for path in (child_path, f"{REFERRALS}/{parent['id']}/packet"):
        response = await referrals.get(path, headers=people.manager.headers)
        assert response.status_code == 403, path
    await step(referrals, next_ngo, child.json()["id"], "accept")
    opened = await referrals.get(child_path, headers=next_ngo.headers)
    assert opened.status_code == 200
    assert opened.json()["packet"]["identity"]["family_names"] == PLANTED_FAMILY


@pytest.mark.parametrize("elsewhere", ["same referrer", "another referrer"])
async def test_a_packet_moved_onto_another_referral_does_not_open(
    referrals: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    elsewhere: str,
) -> None:
    people = parties(caller)
    source = await submit(referrals, people.referrer, people.recipient)
    insider = (
        people.referrer if elsewhere == "same referrer" else caller("government", ["referrer"])
    )
    decoy = {"needs_summary": "Nothing planted here"}
    target = await submit(referrals, insider, people.recipient, packet=decoy)
    # Wrapped key and ciphertext both copied: the context and associated data name the
    # referral and its organisations, so neither opens on another row.
    await superuser.execute(
        "UPDATE referral_packet t SET master_key_id = s.master_key_id, "
        "wrapped_key = s.wrapped_key, ciphertext = s.ciphertext "
        "FROM referral_packet s WHERE s.referral_id = $1 AND t.referral_id = $2",
        uuid.UUID(source["id"]),
        uuid.UUID(target["id"]),
    )
    moved = await referrals.get(f"{REFERRALS}/{target['id']}/packet", headers=insider.headers)
    assert moved.status_code == 500, moved.text
    assert moved.headers["content-type"] == "application/problem+json"
    assert moved.json()["code"] == "protected-data-integrity"
    assert "Traceback" not in moved.text
    assert not any(value in moved.text for value in PLANTED)
    intact = await referrals.get(
        f"{REFERRALS}/{source['id']}/packet", headers=people.referrer.headers
    )
    assert intact.json()["packet"] == packet()


async def test_after_the_purge_nobody_can_read_the_packet(
    referrals: httpx.AsyncClient,
    referral_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    """A referral that ends without hand-off is purged too, after the same window."""
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    await step(referrals, people.manager, referral["id"], "reject")
    purge = await message_of(superuser, "referral.purge", referral["id"])
    assert purge["available_at"] > purge["created_at"] + timedelta(days=29)
    await make_due(superuser, purge["id"])
    row = await deliver(referral_app, superuser, purge["id"])
    assert row["processed_at"] is not None

    for who in (people.referrer, people.manager):
        response = await referrals.get(f"{REFERRALS}/{referral['id']}/packet", headers=who.headers)
        assert response.status_code == 410
        assert response.json()["code"] == "packet-purged"
    read = await referrals.get(f"{REFERRALS}/{referral['id']}", headers=people.referrer.headers)
    assert read.json()["packet_state"] == "purged"
    # Ciphertext and wrapped key alike: nothing left to decrypt.
    left = await superuser.fetchval(
        "SELECT count(*) FROM referral_packet WHERE referral_id = $1", uuid.UUID(referral["id"])
    )
    assert left == 0
