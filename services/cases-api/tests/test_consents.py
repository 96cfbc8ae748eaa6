"""Consents: recorded, withdrawn for good, and what they allow to be shared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cases_api.beneficiaries import service as beneficiary_service
from cases_api.beneficiaries.schemas import Identity
from cases_api.beneficiaries.service import identity_index
from cases_api.config import CasesSettings
from cases_api.consents import service as consent_service
from cases_api.main import open_vault
from cases_factories import Caller, CallerFactory, identity, new_beneficiary
from family_factories import (
    audit_actions,
    days_from_today,
    new_consent,
    principal_of,
    sharing_body,
    tenant_session,
)


def _consents(beneficiary_id: str) -> str:
    return f"/v1/beneficiaries/{beneficiary_id}/consents"


def _today_plus(days: int) -> Any:
    return datetime.now(UTC).date() + timedelta(days=days)


async def _withdraw(
    cases: httpx.AsyncClient, caller: Caller, beneficiary_id: str, consent: dict[str, Any]
) -> httpx.Response:
    return await cases.post(
        f"{_consents(beneficiary_id)}/{consent['id']}/withdrawal",
        headers=caller.with_headers(if_match=f'"{consent["version"]}"'),
    )


async def test_a_sharing_consent_is_recorded_and_audited(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker)
    recipient = uuid.uuid4()
    response = await cases.post(
        _consents(beneficiary["id"]),
        json=sharing_body(recipient, ["needs", "identity", "needs"], language="SQ"),
        headers=worker.headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    consent = response.json()
    assert consent["recipient_organisation_id"] == str(recipient)
    assert consent["scope"] == ["identity", "needs"]
    assert consent["legal_basis"] == "consent"
    assert consent["language"] == "sq"
    assert consent["interpreter_used"] is True
    assert consent["recorded_by"] == worker.subject
    assert consent["withdrawn_at"] is None

    read = await cases.get(
        f"{_consents(beneficiary['id'])}/{consent['id']}", headers=worker.headers
    )
    assert read.status_code == 200
    assert read.json() == consent
    assert read.headers["etag"] == '"1"'
    events = await audit_actions(cases, auditor, consent["id"])
    assert [event["action"] for event in events] == ["consent.record"]
    assert events[0]["actor"] == worker.subject


async def test_a_legal_basis_without_consent_says_why(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    body = sharing_body(
        uuid.uuid4(),
        ["risk", "contact"],
        legal_basis="child_protection",
        legal_basis_note="Guardian appointed by the court; child at risk of re-trafficking",
        language=None,
    )
    consent = await new_consent(cases, worker, beneficiary["id"], body)
    assert consent["legal_basis"] == "child_protection"
    assert consent["language"] is None
    transfer = await new_consent(
        cases,
        worker,
        beneficiary["id"],
        {
            "type": "cross_border_transfer",
            "recipient_country": "RS",
            "scope": ["case_summary"],
            "given_on": days_from_today(0),
            "language": "srp",
        },
    )
    assert transfer["recipient_country"] == "RS"
    assert transfer["recipient_organisation_id"] is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"recipient_organisation_id": None}, "validation-failed"),
        ({"type": "cross_border_transfer"}, "validation-failed"),
        ({"type": "data_processing"}, "validation-failed"),
        ({"recipient_country": "IT"}, "validation-failed"),
        ({"recipient_country": "Italy", "type": "cross_border_transfer"}, "validation-failed"),
        ({"scope": []}, "validation-failed"),
        ({"scope": ["everything"]}, "validation-failed"),
        ({"legal_basis": "vital_interest"}, "validation-failed"),
        ({"legal_basis": "good_faith", "legal_basis_note": "x"}, "validation-failed"),
        ({"legal_basis_note": "x" * 501, "legal_basis": "legal_obligation"}, "validation-failed"),
        ({"language": None}, "validation-failed"),
        ({"language": "albanian"}, "validation-failed"),
        ({"expires_on": days_from_today(-10)}, "validation-failed"),
        ({"given_on": "10/11/2026"}, "validation-failed"),
        ({"signed_by": "Mirela"}, "validation-failed"),
        ({"given_on": days_from_today(3)}, "invalid-consent"),
        ({"recipient_organisation_id": "OWN"}, "invalid-consent"),
    ],
)
async def test_incoherent_consents_are_refused_and_nothing_is_written(
    cases: httpx.AsyncClient, caller: CallerFactory, change: dict[str, Any], code: str
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    if change.get("recipient_organisation_id") == "OWN":
        change = {"recipient_organisation_id": str(worker.org_id)}
    body = {**sharing_body(uuid.uuid4(), ["identity"]), **change}
    response = await cases.post(_consents(beneficiary["id"]), json=body, headers=worker.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert "Mirela" not in response.text
    listed = await cases.get(_consents(beneficiary["id"]), headers=worker.headers)
    assert listed.json()["items"] == []


async def test_a_withdrawal_needs_the_etag_and_is_final(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker)
    consent = await new_consent(
        cases, worker, beneficiary["id"], sharing_body(uuid.uuid4(), ["needs"])
    )
    path = f"{_consents(beneficiary['id'])}/{consent['id']}/withdrawal"
    missing = await cases.post(path, headers=worker.headers)
    assert missing.status_code == 428
    stale = await cases.post(path, headers=worker.with_headers(if_match='"3"'))
    assert stale.status_code == 412
    done = await cases.post(path, headers=worker.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'
    assert done.json()["withdrawn_by"] == worker.subject
    assert done.json()["withdrawn_at"] is not None
    again = await cases.post(path, headers=worker.with_headers(if_match='"2"'))
    assert again.status_code == 409
    assert again.json()["code"] == "consent-withdrawn"
    events = await audit_actions(cases, auditor, consent["id"])
    assert [event["action"] for event in events] == ["consent.record", "consent.withdraw"]


async def test_consents_are_listed_by_type_and_by_the_day_they_held(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    recipient = uuid.uuid4()
    processing = await new_consent(
        cases,
        worker,
        beneficiary["id"],
        {"type": "data_processing", "given_on": days_from_today(-100), "language": "sq"},
    )
    expired = await new_consent(
        cases,
        worker,
        beneficiary["id"],
        sharing_body(
            recipient,
            ["needs"],
            given_on=days_from_today(-60),
            expires_on=days_from_today(-30),
        ),
    )
    withdrawn = await new_consent(
        cases,
        worker,
        beneficiary["id"],
        sharing_body(recipient, ["needs"], given_on=days_from_today(-20)),
    )
    assert (await _withdraw(cases, worker, beneficiary["id"], withdrawn)).status_code == 200

    async def listed(**params: str) -> list[str]:
        response = await cases.get(
            _consents(beneficiary["id"]), params=params, headers=worker.headers
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed() == [processing["id"], expired["id"], withdrawn["id"]]
    assert await listed(type="sharing") == [expired["id"], withdrawn["id"]]
    assert await listed(valid_on=days_from_today(0)) == [processing["id"]]
    assert await listed(valid_on=days_from_today(-45)) == [processing["id"], expired["id"]]
    # `expires_on` is the first day it no longer holds; withdrawn consents held before.
    assert await listed(valid_on=days_from_today(-30)) == [processing["id"]]
    assert await listed(valid_on=days_from_today(-10), type="sharing") == [withdrawn["id"]]
    assert await listed(valid_on=days_from_today(-101)) == []
    bad = await cases.get(
        _consents(beneficiary["id"]), params={"type": "marketing"}, headers=worker.headers
    )
    assert bad.status_code == 422


async def test_another_organisation_gets_nothing(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    owner = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, owner)
    consent = await new_consent(
        cases, owner, beneficiary["id"], sharing_body(uuid.uuid4(), ["needs"])
    )
    other = caller("ngo", ["case_manager"])
    path = f"{_consents(beneficiary['id'])}/{consent['id']}"
    attempts = [
        await cases.post(
            _consents(beneficiary["id"]),
            json=sharing_body(uuid.uuid4(), ["needs"]),
            headers=other.headers,
        ),
        await cases.get(_consents(beneficiary["id"]), headers=other.headers),
        await cases.get(path, headers=other.headers),
        await cases.post(f"{path}/withdrawal", headers=other.with_headers(if_match='"1"')),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    own = await new_beneficiary(cases, other)
    across = await cases.get(f"{_consents(own['id'])}/{consent['id']}", headers=other.headers)
    assert across.status_code == 404
    listed = await cases.get(_consents(own["id"]), headers=other.headers)
    assert listed.json()["items"] == []
    still = await cases.get(path, headers=owner.headers)
    assert still.json()["withdrawn_at"] is None


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
    beneficiary = await new_beneficiary(cases, owner)
    consent = await new_consent(
        cases, owner, beneficiary["id"], sharing_body(uuid.uuid4(), ["needs"])
    )
    outsider = caller(org_kind, roles, org_id=owner.org_id)
    path = f"{_consents(beneficiary['id'])}/{consent['id']}"
    attempts = [
        await cases.post(
            _consents(beneficiary["id"]),
            json=sharing_body(uuid.uuid4(), ["needs"]),
            headers=outsider.headers,
        ),
        await cases.get(_consents(beneficiary["id"]), headers=outsider.headers),
        await cases.get(path, headers=outsider.headers),
        await cases.post(f"{path}/withdrawal", headers=outsider.with_headers(if_match='"1"')),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    listed = await cases.get(_consents(beneficiary["id"]), headers=owner.headers)
    assert [item["withdrawn_at"] for item in listed.json()["items"]] == [None]


async def test_sharing_is_allowed_by_valid_records_naming_the_recipient_only(
    cases: httpx.AsyncClient, caller: CallerFactory, cases_settings: CasesSettings
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    recipient, stranger = uuid.uuid4(), uuid.uuid4()
    await new_consent(
        cases,
        worker,
        beneficiary["id"],
        sharing_body(recipient, ["needs", "case_summary"], expires_on=days_from_today(30)),
    )
    await new_consent(
        cases,
        worker,
        beneficiary["id"],
        sharing_body(
            recipient,
            ["risk"],
            legal_basis="vital_interest",
            legal_basis_note="Imminent threat from the exploiter",
        ),
    )
    withdrawn = await new_consent(
        cases, worker, beneficiary["id"], sharing_body(recipient, ["identity"])
    )
    assert (await _withdraw(cases, worker, beneficiary["id"], withdrawn)).status_code == 200
    await new_consent(cases, worker, beneficiary["id"], sharing_body(stranger, ["contact"]))
    beneficiary_id = uuid.UUID(beneficiary["id"])

    async with tenant_session(cases_settings, worker) as session:

        async def allowed(to: uuid.UUID, items: list[str], days: int = 0) -> bool:
            return await consent_service.sharing_allowed(
                session, principal_of(worker), beneficiary_id, to, items, _today_plus(days)
            )

        assert await allowed(recipient, ["needs"])
        assert await allowed(recipient, ["needs", "case_summary"])
        # Items covered by two records (one on a legal basis) between them.
        assert await allowed(recipient, ["needs", "risk"])
        assert not await allowed(recipient, ["identity"])  # withdrawn
        assert not await allowed(recipient, ["needs", "identity"])  # every item, not some
        assert not await allowed(recipient, ["needs", "contact"])
        assert await allowed(recipient, ["identity"], days=-1)  # it held before
        assert not await allowed(recipient, ["contact"])  # named another recipient
        assert not await allowed(stranger, ["needs"])
        assert not await allowed(recipient, ["needs"], days=-11)  # not given yet
        assert not await allowed(recipient, ["needs"], days=30)  # expired
        assert await allowed(recipient, ["risk"], days=30)

    # Another organisation's caller cannot lean on these records.
    other = caller("ngo", ["caseworker"])
    async with tenant_session(cases_settings, other) as session:
        assert not await consent_service.sharing_allowed(
            session, principal_of(other), beneficiary_id, recipient, ["needs"], _today_plus(0)
        )


async def test_duplicates_name_an_organisation_only_where_the_person_agreed(
    cases: httpx.AsyncClient, caller: CallerFactory, cases_settings: CasesSettings
) -> None:
    asking = caller("ngo", ["caseworker"])
    unique = f"Arben{uuid.uuid4().hex[:8]}"
    person = Identity.model_validate(identity(given=unique))
    index = identity_index(open_vault(cases_settings), person)
    assert index is not None

    async def sharing(caller_: Caller = asking) -> list[uuid.UUID]:
        async with tenant_session(cases_settings, caller_) as session:
            return await beneficiary_service.organisations_sharing(
                session, principal_of(caller_), index
            )

    agreed = caller("ngo", ["caseworker"])
    known = await new_beneficiary(cases, agreed, identity(given=unique))
    assert await sharing() == []  # known there, but nobody agreed yet
    only_needs = await new_consent(
        cases, agreed, known["id"], sharing_body(asking.org_id, ["needs"])
    )
    assert only_needs["scope"] == ["needs"]
    assert await sharing() == []
    await new_consent(
        cases,
        agreed,
        known["id"],
        sharing_body(
            asking.org_id,
            ["identity"],
            legal_basis="legal_obligation",
            legal_basis_note="Court order",
        ),
    )
    assert await sharing() == []  # a legal basis is not the person's agreement
    consent = await new_consent(
        cases, agreed, known["id"], sharing_body(asking.org_id, ["identity", "needs"])
    )
    assert await sharing() == [agreed.org_id]
    # And the duplicate search through the API names it now.
    search = await cases.post(
        "/v1/beneficiaries/search",
        json={
            "given_names": unique,
            "family_names": person.family_names,
            "date_of_birth": str(person.date_of_birth),
        },
        headers=asking.headers,
    )
    assert search.json()["known_at"] == [str(agreed.org_id)]
    assert await sharing(caller("ngo", ["caseworker"])) == []  # not named: not told
    assert await sharing(agreed) == []  # its own record is not "elsewhere"
    assert (await _withdraw(cases, agreed, known["id"], consent)).status_code == 200
    assert await sharing() == []

    expired_at = caller("ngo", ["caseworker"])
    old = await new_beneficiary(cases, expired_at, identity(given=unique))
    await new_consent(
        cases,
        expired_at,
        old["id"],
        sharing_body(
            asking.org_id,
            ["identity"],
            given_on=days_from_today(-30),
            expires_on=days_from_today(0),
        ),
    )
    assert await sharing() == []
    later = caller("ngo", ["caseworker"])
    again = await new_beneficiary(cases, later, identity(given=unique))
    await new_consent(cases, later, again["id"], sharing_body(asking.org_id, ["identity"]))
    assert await sharing() == [later.org_id]
