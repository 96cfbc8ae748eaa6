"""The directory where referrals meet it: a recipient closed to referrals refuses them,
and the directory's POSTs honour `Idempotency-Key` as the referrals' do."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from baton.testing_issuer import Caller, CallerFactory
from directory_factories import (
    PROVIDERS,
    new_provider,
    provider_body,
    service_body,
    unique_language,
    unique_region,
)
from referral_factories import (
    PLANTED,
    REFERRALS,
    Parties,
    etag,
    parties,
    referral_body,
    step,
    submit,
)


async def _listed(referrals: httpx.AsyncClient, keeper: Caller, **fields: Any) -> dict[str, Any]:
    """The keeper's organisation's directory entry, found by a region no other test uses."""
    entry = await new_provider(
        referrals,
        keeper,
        regions_served=[unique_region()],
        languages=[unique_language()],
        **fields,
    )
    return entry


async def _take_off(referrals: httpx.AsyncClient, keeper: Caller, entry: dict[str, Any]) -> None:
    changed = await referrals.patch(
        f"{PROVIDERS}/{entry['id']}",
        json={"active": False},
        headers=keeper.with_headers(if_match=f'"{entry["version"]}"'),
    )
    assert changed.status_code == 200, changed.text


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "recipient-not-accepting"
    assert problem["type"] == "urn:baton:problem:recipient-not-accepting"
    # Neither the person nor what the referral says.
    assert [value for value in PLANTED if value in response.text] == []
    assert "POL-" not in response.text


@pytest.mark.parametrize("closed", ["not-accepting", "inactive"])
async def test_a_recipient_closed_to_referrals_refuses_a_submission(
    referrals: httpx.AsyncClient, caller: CallerFactory, closed: str
) -> None:
    people = parties(caller)
    entry = await _listed(referrals, people.manager, accepts_referrals=closed == "inactive")
    if closed == "inactive":
        await _take_off(referrals, people.manager, entry)
    body = referral_body(people.recipient)
    refused = await referrals.post(REFERRALS, json=body, headers=people.referrer.headers)
    _assert_refused(refused)
    sent = await referrals.get(REFERRALS, params={"role": "sent"}, headers=people.referrer.headers)
    assert sent.json()["items"] == []

    # A draft may wait for the provider to open again; submitting it may not.
    draft = await submit(referrals, people.referrer, people.recipient, status="draft")
    _assert_refused(await step(referrals, people.referrer, draft["id"], "submit"))
    assert await etag(referrals, people.referrer, draft["id"]) == '"1"'


async def test_a_recipient_listed_and_accepting_or_not_listed_receives(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    await _listed(referrals, people.manager)
    listed = await submit(referrals, people.referrer, people.recipient)
    assert listed["status"] == "requested"
    # No entry at all: a government may refer to any NGO.
    unlisted = await submit(referrals, people.referrer, uuid.uuid4())
    assert unlisted["status"] == "requested"


async def test_a_forward_to_a_provider_closed_to_referrals_is_refused(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    referral = await submit(referrals, people.referrer, people.recipient)
    next_ngo = caller("ngo", ["case_manager"])
    await _listed(referrals, next_ngo, accepts_referrals=False)
    version = await etag(referrals, people.manager, referral["id"])
    forward = {"recipient_organisation_id": str(next_ngo.org_id)}
    _assert_refused(await step(referrals, people.manager, referral["id"], "forward", forward))
    # Nothing moved: the referral still waits for its recipient's decision.
    assert await etag(referrals, people.manager, referral["id"]) == version
    read = await referrals.get(f"{REFERRALS}/{referral['id']}", headers=people.manager.headers)
    assert (read.json()["status"], read.json()["business_status"]) == ("requested", None)


async def test_an_entry_created_three_times_with_one_key_is_created_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    body = provider_body(regions_served=[unique_region()], languages=[unique_language()])
    headers = manager.with_headers(idempotency_key=f"entry-{uuid.uuid4()}")
    first = await referrals.post(PROVIDERS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await asyncio.gather(
        *(referrals.post(PROVIDERS, json=body, headers=headers) for _ in "ab")
    )
    assert [r.status_code for r in again] == [201, 201]
    assert all(r.json() == first.json() for r in again)
    assert all(r.headers["idempotent-replayed"] == "true" for r in again)
    assert all(r.headers["etag"] == first.headers["etag"] for r in again)
    # Without the key the same request is a second entry: refused, there is one already.
    plain = await referrals.post(PROVIDERS, json=body, headers=manager.headers)
    assert (plain.status_code, plain.json()["code"]) == (409, "provider-exists")

    other = await referrals.post(PROVIDERS, json={**body, "name": "Another name"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency-key-reused")
    assert "Another name" not in other.text


async def test_a_service_added_twice_with_one_key_is_added_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    entry = await _listed(referrals, manager)
    path = f"{PROVIDERS}/{entry['id']}/services"
    headers = manager.with_headers(idempotency_key=f"service-{uuid.uuid4()}")
    first = await referrals.post(path, json=service_body(), headers=headers)
    again = await referrals.post(path, json=service_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    read = await referrals.get(f"{PROVIDERS}/{entry['id']}", headers=manager.headers)
    assert [s["id"] for s in read.json()["services"]] == [first.json()["id"]]

    # The key belongs to its caller: another keeper's same key is a request of its own.
    admin = caller("platform", ["platform_admin"])
    theirs = await referrals.post(
        path,
        json=service_body(service_type="legal"),
        headers=admin.with_headers(idempotency_key=headers["idempotency-key"]),
    )
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    bad_key = await referrals.post(
        path, json=service_body(), headers=manager.with_headers(idempotency_key="k" * 256)
    )
    assert (bad_key.status_code, bad_key.json()["code"]) == (400, "idempotency-key-invalid")


async def test_a_refused_entry_keeps_no_key_behind(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    """A retry after a failure runs anew: the key went with the rolled-back request."""
    people: Parties = parties(caller)
    key = f"entry-{uuid.uuid4()}"
    foreign = provider_body(organisation_id=str(uuid.uuid4()), regions_served=[unique_region()])
    headers = people.manager.with_headers(idempotency_key=key)
    refused = await referrals.post(PROVIDERS, json=foreign, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "not-your-directory-entry")
    retried = await referrals.post(PROVIDERS, json=foreign, headers=headers)
    assert retried.status_code == 403
    assert "idempotent-replayed" not in retried.headers
