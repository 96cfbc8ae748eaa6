"""Family members: attributes for case work, identities sealed with the primary's key."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from baton.testing import assert_row_level_security_forced
from cases_factories import CallerFactory, identity, new_beneficiary
from family_factories import (
    PLANTED_CHILD_NAME,
    PURPOSE,
    audit_actions,
    family_member_body,
    new_family_member,
)


def _members(beneficiary_id: str) -> str:
    return f"/v1/beneficiaries/{beneficiary_id}/family-members"


async def test_a_family_member_is_recorded_without_echoing_the_identity(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    primary = await new_beneficiary(cases, worker, identity())
    response = await cases.post(
        _members(primary["id"]),
        json=family_member_body(services_received=["education", "medical", "education"]),
        headers=worker.headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    created = response.json()
    assert created["beneficiary_id"] == primary["id"]
    assert created["organisation_id"] == str(worker.org_id)
    assert created["services_received"] == ["education", "medical"]
    assert created["has_identity"] is True
    assert created["identity"] is None
    assert PLANTED_CHILD_NAME not in response.text

    listed = await cases.get(_members(primary["id"]), headers=worker.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert PLANTED_CHILD_NAME not in listed.text
    events = await audit_actions(cases, auditor, created["id"])
    assert [event["action"] for event in events] == ["secondary.create"]


async def test_the_identity_is_read_with_a_purpose_and_audited(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    primary = await new_beneficiary(cases, worker)  # no identity: the member's makes the key
    member = await new_family_member(cases, worker, primary["id"])
    path = f"{_members(primary['id'])}/{member['id']}"

    plain = await cases.get(path, headers=worker.headers)
    assert plain.status_code == 200
    assert plain.json()["identity"] is None
    assert plain.headers["etag"] == '"1"'
    no_purpose = await cases.get(path, params={"include": "identity"}, headers=worker.headers)
    assert no_purpose.status_code == 422
    assert no_purpose.json()["code"] == "purpose-required"
    included = await cases.get(
        path,
        params={"include": "identity", "purpose": "family_tracing"},
        headers=worker.headers,
    )
    assert included.status_code == 422  # not a purpose of the vocabulary
    included = await cases.get(
        path, params={"include": "identity", **PURPOSE}, headers=worker.headers
    )
    assert included.status_code == 200, included.text
    assert included.json()["identity"] == {
        "given_names": PLANTED_CHILD_NAME,
        "family_names": "Zhupaniqi",
        "date_of_birth": "2015-03-02",
    }

    events = await audit_actions(cases, auditor, member["id"])
    assert [event["action"] for event in events] == [
        "secondary.create",
        "secondary_identity.read",
    ]
    assert events[1]["purpose"] == "case_management"
    assert events[1]["actor"] == worker.subject


async def test_an_identity_without_record_is_not_found(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, worker)
    member = await new_family_member(cases, worker, primary["id"], with_identity=False)
    assert member["has_identity"] is False
    response = await cases.get(
        f"{_members(primary['id'])}/{member['id']}",
        params={"include": "identity", **PURPOSE},
        headers=worker.headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "identity-not-recorded"


async def test_an_identity_is_sealed_and_bound_to_its_family_member(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, worker, identity())
    first = await new_family_member(cases, worker, primary["id"])
    second = await new_family_member(
        cases, worker, primary["id"], relationship="sibling", age_group="adult"
    )
    stored = await superuser.fetchval(
        "SELECT ciphertext FROM secondary_beneficiary WHERE id = $1", uuid.UUID(first["id"])
    )
    assert PLANTED_CHILD_NAME.encode() not in stored
    # The same key seals both; the member's id in the associated data tells them apart.
    await superuser.execute(
        "UPDATE secondary_beneficiary SET ciphertext = $1 WHERE id = $2",
        stored,
        uuid.UUID(second["id"]),
    )
    moved = await cases.get(
        f"{_members(primary['id'])}/{second['id']}",
        params={"include": "identity", **PURPOSE},
        headers=worker.headers,
    )
    assert moved.status_code == 500
    assert moved.json()["code"] == "protected-data-integrity"
    assert PLANTED_CHILD_NAME not in moved.text


async def test_another_organisation_gets_nothing(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    owner = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, owner, identity())
    member = await new_family_member(cases, owner, primary["id"])
    other = caller("ngo", ["case_manager"])
    path = f"{_members(primary['id'])}/{member['id']}"
    attempts = [
        await cases.post(_members(primary["id"]), json=family_member_body(), headers=other.headers),
        await cases.get(_members(primary["id"]), headers=other.headers),
        await cases.get(path, headers=other.headers),
        await cases.get(path, params={"include": "identity", **PURPOSE}, headers=other.headers),
        await cases.patch(
            path, json={"age_group": "adult"}, headers=other.with_headers(if_match='"1"')
        ),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    assert all(PLANTED_CHILD_NAME not in response.text for response in attempts)

    # The other organisation's own beneficiary does not reach this member either.
    own = await new_beneficiary(cases, other)
    across = await cases.get(f"{_members(own['id'])}/{member['id']}", headers=other.headers)
    assert across.status_code == 404
    assert across.json()["code"] == "family-member-not-found"
    listed = await cases.get(_members(own["id"]), headers=other.headers)
    assert listed.json()["items"] == []
    unchanged = await cases.get(path, headers=owner.headers)
    assert unchanged.json()["version"] == 1


@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [
        ("donor", ["donor_viewer"]),
        ("donor", ["grant_manager"]),
        ("government", ["referrer"]),
        ("ngo", ["auditor"]),
        ("platform", ["platform_admin"]),
    ],
)
async def test_roles_without_case_access_are_refused(
    cases: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    owner = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, owner)
    member = await new_family_member(cases, owner, primary["id"])
    outsider = caller(org_kind, roles, org_id=owner.org_id)
    path = f"{_members(primary['id'])}/{member['id']}"
    attempts = [
        await cases.post(
            _members(primary["id"]), json=family_member_body(), headers=outsider.headers
        ),
        await cases.get(_members(primary["id"]), headers=outsider.headers),
        await cases.get(path, headers=outsider.headers),
        await cases.get(path, params={"include": "identity", **PURPOSE}, headers=outsider.headers),
        await cases.patch(
            path, json={"age_group": "adult"}, headers=outsider.with_headers(if_match='"1"')
        ),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert all(PLANTED_CHILD_NAME not in response.text for response in attempts)
    listed = await cases.get(_members(primary["id"]), headers=owner.headers)
    assert [item["id"] for item in listed.json()["items"]] == [member["id"]]


async def test_updates_need_the_current_etag(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, worker, identity())
    member = await new_family_member(cases, worker, primary["id"])
    path = f"{_members(primary['id'])}/{member['id']}"
    change = {"services_received": ["legal"], "identity": {"given_names": "Erjona Ana"}}

    missing = await cases.patch(path, json=change, headers=worker.headers)
    assert missing.status_code == 428
    weak = await cases.patch(path, json=change, headers=worker.with_headers(if_match='W/"1"'))
    assert weak.status_code == 412
    stale = await cases.patch(path, json=change, headers=worker.with_headers(if_match='"4"'))
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"1"'
    done = await cases.patch(path, json=change, headers=worker.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'
    assert done.json()["services_received"] == ["legal"]
    assert done.json()["relationship"] == "child"
    assert "Erjona Ana" not in done.text
    read = await cases.get(path, params={"include": "identity", **PURPOSE}, headers=worker.headers)
    assert read.json()["identity"] == {
        "given_names": "Erjona Ana",
        "family_names": None,
        "date_of_birth": None,
    }

    removed = await cases.patch(
        path, json={"identity": None}, headers=worker.with_headers(if_match='"2"')
    )
    assert removed.status_code == 200
    assert removed.json()["has_identity"] is False
    again = await cases.patch(
        path, json={"age_group": "adult"}, headers=worker.with_headers(if_match='"2"')
    )
    assert again.status_code == 412


async def test_erasing_the_primary_erases_the_family_members_identities(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    primary = await new_beneficiary(cases, manager, identity())
    member = await new_family_member(cases, manager, primary["id"])
    path = f"{_members(primary['id'])}/{member['id']}"
    erased = await cases.delete(
        f"/v1/beneficiaries/{primary['id']}/identity", headers=manager.headers
    )
    assert erased.status_code == 204

    read = await cases.get(path, params={"include": "identity", **PURPOSE}, headers=manager.headers)
    assert read.status_code == 410
    assert read.json()["code"] == "identity-erased"
    assert PLANTED_CHILD_NAME not in read.text
    rewrite = await cases.patch(
        path,
        json={"identity": {"given_names": "Erjona"}},
        headers=manager.with_headers(if_match='"1"'),
    )
    assert rewrite.status_code == 410
    with_identity = await cases.post(
        _members(primary["id"]), json=family_member_body(), headers=manager.headers
    )
    assert with_identity.status_code == 410

    # The attributes stay for case work and statistics.
    attributes = await cases.get(path, headers=manager.headers)
    assert attributes.status_code == 200
    assert attributes.json()["has_identity"] is False
    assert attributes.json()["services_received"] == ["education", "psychological"]
    corrected = await cases.patch(
        path, json={"age_group": "adult"}, headers=manager.with_headers(if_match='"1"')
    )
    assert corrected.status_code == 200
    unnamed = await cases.post(
        _members(primary["id"]),
        json=family_member_body(with_identity=False),
        headers=manager.headers,
    )
    assert unnamed.status_code == 201
    listed = await cases.get(_members(primary["id"]), headers=manager.headers)
    assert len(listed.json()["items"]) == 2


async def test_a_primary_without_identity_loses_its_members_identities_on_erasure(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    primary = await new_beneficiary(cases, manager)
    member = await new_family_member(cases, manager, primary["id"])
    erased = await cases.delete(
        f"/v1/beneficiaries/{primary['id']}/identity", headers=manager.headers
    )
    assert erased.status_code == 204
    read = await cases.get(
        f"{_members(primary['id'])}/{member['id']}",
        params={"include": "identity", **PURPOSE},
        headers=manager.headers,
    )
    assert read.status_code == 410


@pytest.mark.parametrize(
    "change",
    [
        {"relationship": "cousin"},
        {"sex": "f"},
        {"age_group": "teenager"},
        {"services_received": ["shopping"]},
        {"identity": {"given_names": ""}},
        {"identity": {"given_names": PLANTED_CHILD_NAME, "phone": "+35569"}},
        {"identity": {"given_names": PLANTED_CHILD_NAME, "date_of_birth": "02-03-2015"}},
        {"nickname": PLANTED_CHILD_NAME},
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    cases: httpx.AsyncClient, caller: CallerFactory, change: dict[str, object]
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    primary = await new_beneficiary(cases, worker)
    response = await cases.post(
        _members(primary["id"]), json={**family_member_body(), **change}, headers=worker.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert PLANTED_CHILD_NAME not in response.text
    assert "02-03-2015" not in response.text
    listed = await cases.get(_members(primary["id"]), headers=worker.headers)
    assert listed.json()["items"] == []
    member = await new_family_member(cases, worker, primary["id"])
    path = f"{_members(primary['id'])}/{member['id']}"
    patched = await cases.patch(path, json=change, headers=worker.with_headers(if_match='"1"'))
    assert patched.status_code == 422
    assert (await cases.get(path, headers=worker.headers)).json()["version"] == 1
    events = await audit_actions(cases, auditor, member["id"])
    assert [event["action"] for event in events] == ["secondary.create"]


async def test_row_level_security_guards_family_members_consents_and_notes(
    cases: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    tables = ("secondary_beneficiary", "consent", "case_note")
    await assert_row_level_security_forced(runtime, tables)

    owner = caller("ngo", ["caseworker"])
    primary = await new_beneficiary(cases, owner)
    member = await new_family_member(cases, owner, primary["id"])
    member_id = uuid.UUID(member["id"])
    count = "SELECT count(*) FROM secondary_beneficiary WHERE id = $1"
    for org_id, expected in ((owner.org_id, 1), (uuid.uuid4(), 0)):
        async with runtime.transaction():
            await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(org_id))
            assert await runtime.fetchval(count, member_id) == expected
    assert await runtime.fetchval(count, member_id) == 0  # no organisation bound: nothing
