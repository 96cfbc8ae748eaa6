"""Programmes: a donor's line of work; every funder reads it, only its manager changes it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.testing import with_and_without_organisation_filter
from baton.testing_issuer import Caller, CallerFactory
from grants_factories import grant_parties, insert_grant

PROGRAMMES = "/v1/programmes"


def programme_body(*co_funders: uuid.UUID, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Re/integration in the Balkans",
        "description": "Shelter, case work and jobs for persons leaving exploitation",
        "countries": ["AL", "BA", "MK"],
        "period_start": "2007-01-01",
        "period_end": "2014-12-31",
        "currency": "EUR",
        "co_funder_organisation_ids": [str(org) for org in co_funders],
        **changes,
    }


async def new_programme(
    grants: httpx.AsyncClient, manager: Caller, *co_funders: uuid.UUID
) -> dict[str, Any]:
    response = await grants.post(
        PROGRAMMES, json=programme_body(*co_funders), headers=manager.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@with_and_without_organisation_filter
async def test_a_grant_manager_starts_a_programme_its_funders_read(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    created = await new_programme(grants, people.manager, people.cofunder.org_id)
    assert created["managing_organisation_id"] == str(people.manager.org_id)
    assert created["funder_organisation_ids"] == [
        str(people.manager.org_id),
        str(people.cofunder.org_id),
    ]
    path = f"{PROGRAMMES}/{created['id']}"
    for reader in (people.manager, people.viewer, people.cofunder):
        read = await grants.get(path, headers=reader.headers)
        assert read.status_code == 200, read.text
        assert read.headers["etag"] == '"1"'
        listed = await grants.get(PROGRAMMES, headers=reader.headers, params={"limit": 100})
        assert created["id"] in [item["id"] for item in listed.json()["items"]]
    # Outsiders: the same 404 as for nothing at all, and nothing listed.
    for outsider in (people.other_donor, people.recipient, people.other_ngo):
        hidden = await grants.get(path, headers=outsider.headers)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "programme-not-found"
        listed = await grants.get(PROGRAMMES, headers=outsider.headers)
        assert created["id"] not in [item["id"] for item in listed.json()["items"]]
    missing = await grants.get(f"{PROGRAMMES}/{uuid.uuid4()}", headers=people.manager.headers)
    assert missing.status_code == 404


async def test_only_grant_managers_start_programmes(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    for who in (people.viewer, people.recipient, people.recipient_worker):
        response = await grants.post(PROGRAMMES, json=programme_body(), headers=who.headers)
        assert response.status_code == 403, response.text
    government = caller("government", ["referrer"])
    refused = await grants.get(PROGRAMMES, headers=government.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "organisation-kind-refused"


async def test_a_programme_is_retried_with_its_key_and_made_once(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    headers = people.manager.with_headers(idempotency_key=f"p-{uuid.uuid4()}")
    first = await grants.post(PROGRAMMES, json=programme_body(), headers=headers)
    again = await grants.post(PROGRAMMES, json=programme_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    count = await superuser.fetchval(
        "SELECT count(*) FROM programme WHERE managing_organisation_id = $1",
        people.manager.org_id,
    )
    assert count == 1


async def test_bad_programmes_are_refused_with_problems(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    for changes in (
        {"period_end": "2006-12-31"},
        {"currency": "EURO"},
        {"currency": "ABC"},
        {"countries": ["AL", "AL"]},
        {"countries": ["YU"]},
        {"name": ""},
    ):
        response = await grants.post(
            PROGRAMMES, json=programme_body(**changes), headers=people.manager.headers
        )
        assert response.status_code == 422, (changes, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    leaked = await grants.post(
        PROGRAMMES,
        json=programme_body(description="Contact the coordinator at +355 69 123 4567"),
        headers=people.manager.headers,
    )
    assert leaked.status_code == 422
    assert leaked.json()["code"] == "identifier-in-text"
    assert "phone number" in leaked.json()["detail"]
    assert "123 4567" not in leaked.text


async def test_only_the_managing_donor_changes_it_from_the_version_it_read(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    created = await new_programme(grants, people.manager, people.cofunder.org_id)
    path = f"{PROGRAMMES}/{created['id']}"
    change = {"name": "Re/integration programme, phase two"}
    assert (
        await grants.patch(path, json=change, headers=people.manager.headers)
    ).status_code == 428
    stale = await grants.patch(
        path, json=change, headers=people.manager.with_headers(if_match='"7"')
    )
    assert stale.status_code == 412
    by_cofunder = await grants.patch(
        path, json=change, headers=people.cofunder.with_headers(if_match='"1"')
    )
    assert by_cofunder.status_code == 403
    assert by_cofunder.json()["code"] == "programme-not-managed-by-you"
    by_outsider = await grants.patch(
        path, json=change, headers=people.other_donor.with_headers(if_match='"1"')
    )
    assert by_outsider.status_code == 404
    # The co-funder leaves; another joins.
    newcomer = uuid.uuid4()
    changed = await grants.patch(
        path,
        json={**change, "co_funder_organisation_ids": [str(newcomer)]},
        headers=people.manager.with_headers(if_match='"1"'),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    assert changed.json()["name"] == change["name"]
    assert changed.json()["funder_organisation_ids"] == [str(people.manager.org_id), str(newcomer)]
    gone = await grants.get(path, headers=people.cofunder.headers)
    assert gone.status_code == 404
    backwards = await grants.patch(
        path,
        json={"period_end": "2001-01-01"},
        headers=people.manager.with_headers(if_match='"2"'),
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "programme-period-invalid"


async def test_row_level_security_shows_a_programme_to_its_funders_only(
    grants: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    created = await new_programme(grants, people.manager, people.cofunder.org_id)
    programme_id = uuid.UUID(created["id"])
    seen = {}
    for who in (people.manager, people.cofunder, people.other_donor, people.recipient):
        async with runtime.transaction():
            await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(who.org_id))
            seen[who.org_id] = await runtime.fetchval(
                "SELECT count(*) FROM programme WHERE id = $1", programme_id
            )
    assert seen == {
        people.manager.org_id: 1,
        people.cofunder.org_id: 1,
        people.other_donor.org_id: 0,
        people.recipient.org_id: 0,
    }
    # Unbound, nothing at all.
    assert await runtime.fetchval("SELECT count(*) FROM programme") == 0


async def test_an_ngo_with_a_grant_in_it_reads_the_programme_but_never_changes_it(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    created = await new_programme(grants, people.manager)
    path = f"{PROGRAMMES}/{created['id']}"
    assert (await grants.get(path, headers=people.recipient.headers)).status_code == 404
    await insert_grant(superuser, people, programme_id=uuid.UUID(created["id"]))
    read = await grants.get(path, headers=people.recipient.headers)
    assert read.status_code == 200, read.text
    listed = await grants.get(PROGRAMMES, headers=people.recipient.headers)
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    changed = await grants.patch(
        path, json={"name": "Ours now"}, headers=people.recipient.with_headers(if_match='"1"')
    )
    assert changed.status_code == 403  # grant:manage is a donor's
    assert (await grants.get(path, headers=people.other_ngo.headers)).status_code == 404
