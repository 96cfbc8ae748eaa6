"""Beneficiaries: attributes in the clear, identities encrypted, read only on purpose."""

from __future__ import annotations

import httpx

from cases_factories import (
    PLANTED_DOCUMENT,
    PLANTED_FAMILY,
    PLANTED_PHONE,
    CallerFactory,
    beneficiary_body,
    identity,
    new_beneficiary,
)

PURPOSE = {"purpose": "case_management"}


async def test_a_beneficiary_is_created_without_echoing_the_identity(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    unique = identity(given=f"Mirela{worker.org_id.hex[:8]}")
    response = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(unique), headers=worker.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["etag"] == '"1"'
    assert body["organisation_id"] == str(worker.org_id)
    assert body["has_identity"] is True
    assert body["identity"] is None
    assert body["duplicates"] == {
        "possible_duplicates": [],
        "known_elsewhere": False,
        "known_at": [],
        "restricted_match": False,
    }
    for planted in (PLANTED_FAMILY, PLANTED_PHONE, PLANTED_DOCUMENT):
        assert planted not in response.text


async def test_help_does_not_depend_on_an_identity(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = await new_beneficiary(cases, worker)
    assert created["has_identity"] is False
    response = await cases.get(
        f"/v1/beneficiaries/{created['id']}/identity", params=PURPOSE, headers=worker.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "identity-not-recorded"


async def test_identity_is_read_with_a_purpose_only(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = await new_beneficiary(cases, worker, identity())
    path = f"/v1/beneficiaries/{created['id']}"

    plain = await cases.get(path, headers=worker.headers)
    assert plain.status_code == 200
    assert plain.json()["identity"] is None

    no_purpose = await cases.get(path, params={"include": "identity"}, headers=worker.headers)
    assert no_purpose.status_code == 422
    assert no_purpose.json()["code"] == "purpose-required"

    included = await cases.get(
        path, params={"include": "identity", **PURPOSE}, headers=worker.headers
    )
    assert included.status_code == 200
    assert included.json()["identity"]["documents"][0]["number"] == PLANTED_DOCUMENT

    direct = await cases.get(f"{path}/identity", params=PURPOSE, headers=worker.headers)
    assert direct.status_code == 200
    assert direct.json()["identity"]["family_names"] == PLANTED_FAMILY
    assert direct.headers["etag"] == '"1"'


async def test_roles_without_identity_access_cannot_include_it(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = await new_beneficiary(cases, worker, identity())
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    path = f"/v1/beneficiaries/{created['id']}"
    for request_path, params in (
        (path, {"include": "identity", **PURPOSE}),
        (f"{path}/identity", PURPOSE),
    ):
        response = await cases.get(request_path, params=params, headers=auditor.headers)
        assert response.status_code == 403, request_path
        assert PLANTED_FAMILY not in response.text


async def test_an_identity_is_corrected_with_if_match_only(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = await new_beneficiary(cases, worker, identity())
    path = f"/v1/beneficiaries/{created['id']}/identity"
    corrected = identity(given="Mirela Ana")

    missing = await cases.put(path, json=corrected, headers=worker.headers)
    assert missing.status_code == 428
    stale = await cases.put(path, json=corrected, headers=worker.with_headers(if_match='"7"'))
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"1"'
    done = await cases.put(path, json=corrected, headers=worker.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'
    read = await cases.get(path, params=PURPOSE, headers=worker.headers)
    assert read.json()["identity"]["given_names"] == "Mirela Ana"


async def test_duplicates_are_found_in_the_organisation_and_only_flagged_elsewhere(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    unique_name = f"Dritan{worker.org_id.hex[:8]}"
    first = await new_beneficiary(cases, worker, identity(given=unique_name))
    # Another spelling, order and case of the same name.
    again = await cases.post(
        "/v1/beneficiaries",
        json=beneficiary_body(identity(given=f"ZHUPANIQI {unique_name.upper()}", family=None)),
        headers=worker.headers,
    )
    assert again.status_code == 201
    assert again.json()["duplicates"] == {
        "possible_duplicates": [first["id"]],
        "known_elsewhere": False,
        "known_at": [],
        "restricted_match": False,
    }

    elsewhere = caller("ngo", ["caseworker"])
    other = await cases.post(
        "/v1/beneficiaries",
        json=beneficiary_body(identity(given=unique_name)),
        headers=elsewhere.headers,
    )
    assert other.json()["duplicates"] == {
        "possible_duplicates": [],
        "known_elsewhere": True,
        "known_at": [],
        "restricted_match": False,
    }

    search = await cases.post(
        "/v1/beneficiaries/search",
        json={
            "given_names": unique_name,
            "family_names": PLANTED_FAMILY,
            "date_of_birth": "1994-07-19",
        },
        headers=worker.headers,
    )
    assert search.status_code == 200
    assert sorted(search.json()["possible_duplicates"]) == sorted([first["id"], again.json()["id"]])
    assert search.json()["known_elsewhere"] is True


async def test_attributes_update_needs_the_current_etag(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    created = await new_beneficiary(cases, worker)
    path = f"/v1/beneficiaries/{created['id']}"
    required = await cases.patch(path, json={"languages": ["sq"]}, headers=worker.headers)
    assert required.status_code == 428
    updated = await cases.patch(
        path, json={"languages": ["sq"]}, headers=worker.with_headers(if_match='"1"')
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["languages"] == ["sq"]
    assert updated.headers["etag"] == '"2"'
    stale = await cases.patch(
        path, json={"languages": ["en"]}, headers=worker.with_headers(if_match='"1"')
    )
    assert stale.status_code == 412


async def test_bad_input_gets_a_problem_that_does_not_echo_it(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    body = beneficiary_body(identity(born="19-07-1994"), nationality="Albania")
    response = await cases.post("/v1/beneficiaries", json=body, headers=worker.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    locations = {tuple(error["location"]) for error in response.json()["errors"]}
    assert ("body", "nationality") in locations
    assert ("body", "identity", "date_of_birth") in locations
    assert PLANTED_FAMILY not in response.text
    assert "19-07-1994" not in response.text
    listed = await cases.get("/v1/beneficiaries", headers=worker.headers)
    assert listed.json()["items"] == []  # nothing half-written
