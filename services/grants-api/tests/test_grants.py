"""Grants: drafted, awarded, amended and ended by the managing donor; read by every party."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from baton.testing import (
    assert_organisation_ends_with_its_transaction,
    assert_row_level_security_forced,
    with_and_without_organisation_filter,
)
from baton.testing_issuer import Caller, CallerFactory
from grants_factories import GrantParties, grant_parties

GRANTS = "/v1/grants"
# Every table of grants-api but the idempotency keys (no one's record, only replays).
PARTY_TABLES = (
    "programme",
    "grant_award",
    "grant_funder",
    "grant_amendment",
    "tranche",
    "disbursement",
    "budget_line",
    "expenditure",
    "reporting_requirement",
    "report_submission",
    "funding_year",
    "funding_entry",
)


def grant_body(people: GrantParties, **changes: Any) -> dict[str, Any]:
    return {
        "reference": f"T-{uuid.uuid4().hex[:10]}",
        "recipient_organisation_id": str(people.recipient.org_id),
        "title": "Re/integration services 2011-2012",
        "description": "Shelter, psychological support and job placement",
        "currency": "EUR",
        "amount_applied_for": "60000",
        "amount_awarded": "50000.00",
        "co_funders": [{"organisation_id": str(people.cofunder.org_id), "amount": "20000"}],
        "planned_start": "2011-01-01",
        "planned_end": "2012-12-31",
        "beneficiary_countries": ["AL"],
        **changes,
    }


async def draft(grants: httpx.AsyncClient, people: GrantParties, **changes: Any) -> dict[str, Any]:
    response = await grants.post(
        GRANTS, json=grant_body(people, **changes), headers=people.manager.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def step(
    grants: httpx.AsyncClient,
    who: Caller,
    grant: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    return await grants.post(
        f"{GRANTS}/{grant['id']}/{action}",
        json=body or {},
        headers=who.with_headers(if_match=f'"{grant["version"]}"'),
    )


async def awarded(grants: httpx.AsyncClient, people: GrantParties) -> dict[str, Any]:
    created = await draft(grants, people)
    response = await step(grants, people.manager, created, "award", {"award_date": "2010-12-15"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _shares(grant: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {f["organisation_id"]: (f["amount"], f["managing"]) for f in grant["funders"]}


@with_and_without_organisation_filter
async def test_a_draft_is_read_by_its_parties_only(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    created = await draft(grants, people)
    assert created["status"] == "draft"
    assert created["identifier"].startswith("360G-baton-T-")
    assert created["amount_awarded"] == "50000.00"
    assert created["amount_applied_for"] == "60000.00"
    assert _shares(created) == {
        str(people.manager.org_id): ("30000.00", True),
        str(people.cofunder.org_id): ("20000.00", False),
    }
    path = f"{GRANTS}/{created['id']}"
    for party in (people.manager, people.viewer, people.cofunder, people.recipient):
        read = await grants.get(path, headers=party.headers)
        assert read.status_code == 200, read.text
        assert read.json() == created
        listed = await grants.get(GRANTS, headers=party.headers, params={"limit": 100})
        assert created["id"] in [g["id"] for g in listed.json()["items"]]
    for outsider in (people.other_donor, people.other_ngo):
        hidden = await grants.get(path, headers=outsider.headers)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "grant-not-found"
        listed = await grants.get(GRANTS, headers=outsider.headers)
        assert created["id"] not in [g["id"] for g in listed.json()["items"]]
    refused = await grants.get(path, headers=people.recipient_worker.headers)
    assert refused.status_code == 403


async def test_only_grant_managers_draft_and_the_parties_must_differ(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    for who in (people.viewer, people.recipient):
        response = await grants.post(GRANTS, json=grant_body(people), headers=who.headers)
        assert response.status_code == 403
    to_itself = await grants.post(
        GRANTS,
        json=grant_body(people, recipient_organisation_id=str(people.manager.org_id)),
        headers=people.manager.headers,
    )
    assert to_itself.status_code == 422
    assert to_itself.json()["code"] == "recipient-invalid"
    too_much = await grants.post(
        GRANTS,
        json=grant_body(
            people,
            co_funders=[{"organisation_id": str(people.cofunder.org_id), "amount": "50000.00"}],
        ),
        headers=people.manager.headers,
    )
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "funder-shares-exceed-award"


async def test_an_identifier_is_unique_across_publishers_and_a_retry_makes_one_grant(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, others = grant_parties(caller), grant_parties(caller)
    body = grant_body(people)
    headers = people.manager.with_headers(idempotency_key=f"g-{uuid.uuid4()}")
    first = await grants.post(GRANTS, json=body, headers=headers)
    again = await grants.post(GRANTS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (
        await superuser.fetchval(
            "SELECT count(*) FROM grant_award WHERE identifier = $1", first.json()["identifier"]
        )
        == 1
    )
    # Another donor, the same reference: taken, and nothing else said about it.
    taken = await grants.post(
        GRANTS,
        json=grant_body(others, reference=body["reference"]),
        headers=others.manager.headers,
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "grant-identifier-taken"
    assert str(people.recipient.org_id) not in taken.text


async def test_the_life_of_a_grant(grants: httpx.AsyncClient, caller: CallerFactory) -> None:
    people = grant_parties(caller)
    grant = await awarded(grants, people)
    assert (grant["status"], grant["award_date"], grant["version"]) == ("awarded", "2010-12-15", 2)
    requirements = await grants.get(
        f"{GRANTS}/{grant['id']}/reporting-requirements", headers=people.recipient.headers
    )
    assert requirements.status_code == 200, requirements.text
    kinds = sorted(item["kind"] for item in requirements.json()["items"])
    assert kinds == ["final", "interim"]

    stale = grant | {"version": 1}
    again = await step(grants, people.manager, stale, "award", {"award_date": "2010-12-16"})
    assert again.status_code == 412  # the ETag moved on
    twice = await step(grants, people.manager, grant, "award", {"award_date": "2010-12-16"})
    assert twice.status_code == 409
    assert twice.json()["code"] == "grant-invalid-status"
    wrong_step = await step(grants, people.manager, grant | {"version": 2}, "close")
    assert wrong_step.status_code == 409
    assert wrong_step.json()["code"] == "grant-invalid-status"
    by_cofunder = await step(grants, people.cofunder, grant, "activate")
    assert by_cofunder.status_code == 403
    assert by_cofunder.json()["code"] == "grant-not-managed-by-you"
    by_recipient = await step(grants, people.recipient, grant, "activate")
    assert by_recipient.status_code == 403

    active = await step(grants, people.manager, grant, "activate", {"actual_start": "2011-02-01"})
    assert active.status_code == 200, active.text
    assert (active.json()["status"], active.json()["actual_start"]) == ("active", "2011-02-01")
    closed = await step(grants, people.manager, active.json(), "close")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["actual_end"]) == ("closed", "2012-12-31")
    frozen = await grants.patch(
        f"{GRANTS}/{grant['id']}",
        json={"title": "Too late", "reason": "A late change"},
        headers=people.manager.with_headers(if_match=f'"{closed.json()["version"]}"'),
    )
    assert frozen.status_code == 409


async def test_an_award_needs_an_amount_and_steps_need_if_match(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    created = await draft(grants, people, amount_awarded=None, co_funders=[])
    assert _shares(created) == {}
    path = f"{GRANTS}/{created['id']}/award"
    unguarded = await grants.post(
        path, json={"award_date": "2011-01-01"}, headers=people.manager.headers
    )
    assert unguarded.status_code == 428
    no_amount = await step(grants, people.manager, created, "award", {"award_date": "2011-01-01"})
    assert no_amount.status_code == 422
    assert no_amount.json()["code"] == "award-amount-required"
    done = await step(
        grants,
        people.manager,
        created,
        "award",
        {"award_date": "2011-01-01", "amount_awarded": "25000"},
    )
    assert done.status_code == 200, done.text
    assert _shares(done.json()) == {str(people.manager.org_id): ("25000.00", True)}


async def test_after_the_award_every_change_is_an_amendment_with_a_reason(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    grant = await awarded(grants, people)
    path = f"{GRANTS}/{grant['id']}"
    headers = people.manager.with_headers(if_match=f'"{grant["version"]}"')
    change = {"amount_awarded": "55000.00", "planned_end": "2013-06-30"}
    unexplained = await grants.patch(path, json=change, headers=headers)
    assert unexplained.status_code == 422
    assert unexplained.json()["code"] == "amendment-reason-required"
    amended = await grants.patch(
        path, json={**change, "reason": "Extension agreed at the mid-term review"}, headers=headers
    )
    assert amended.status_code == 200, amended.text
    body = amended.json()
    assert body["version"] == grant["version"] + 1
    # The managing donor's share takes the extra money; the co-funder's stays.
    assert _shares(body) == {
        str(people.manager.org_id): ("35000.00", True),
        str(people.cofunder.org_id): ("20000.00", False),
    }
    history = await grants.get(f"{path}/amendments", headers=people.cofunder.headers)
    assert history.status_code == 200
    [entry] = history.json()["items"]
    assert entry["number"] == 1
    assert entry["reason"] == "Extension agreed at the mid-term review"
    assert entry["changes"] == {
        "amount_awarded": {"before": "50000.00", "after": "55000.00"},
        "planned_end": {"before": "2012-12-31", "after": "2013-06-30"},
    }
    assert entry["version_after"] == body["version"]
    hidden = await grants.get(f"{path}/amendments", headers=people.other_ngo.headers)
    assert hidden.status_code == 404


async def test_changing_co_funders_changes_who_sees_the_grant(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    grant = await awarded(grants, people)
    path = f"{GRANTS}/{grant['id']}"
    replaced = await grants.patch(
        path,
        json={
            "co_funders": [{"organisation_id": str(people.other_donor.org_id), "amount": "10000"}],
            "reason": "The agency withdrew; another donor joined",
        },
        headers=people.manager.with_headers(if_match=f'"{grant["version"]}"'),
    )
    assert replaced.status_code == 200, replaced.text
    assert (await grants.get(path, headers=people.other_donor.headers)).status_code == 200
    assert (await grants.get(path, headers=people.cofunder.headers)).status_code == 404
    assert _shares(replaced.json())[str(people.manager.org_id)] == ("40000.00", True)


async def test_termination_needs_a_reason_and_is_kept_in_the_history(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    grant = await awarded(grants, people)
    no_reason = await step(grants, people.manager, grant, "terminate")
    assert no_reason.status_code == 422
    leaky = await step(
        grants, people.manager, grant, "terminate", {"reason": "Write to director@ngo.example"}
    )
    assert leaky.status_code == 422
    assert leaky.json()["code"] == "identifier-in-text"
    ended = await step(
        grants,
        people.manager,
        grant,
        "terminate",
        {"reason": "The organisation closed its shelter", "actual_end": "2011-06-30"},
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["actual_end"]) == ("terminated", "2011-06-30")
    history = await grants.get(f"{GRANTS}/{grant['id']}/amendments", headers=people.manager.headers)
    [entry] = history.json()["items"]
    assert entry["changes"]["status"] == {"before": "awarded", "after": "terminated"}


async def test_grants_are_listed_with_filters(
    grants: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = grant_parties(caller)
    early = await draft(grants, people, planned_start="2008-01-01", planned_end="2008-12-31")
    late = await awarded(grants, people)

    async def listed(**params: Any) -> set[str]:
        response = await grants.get(GRANTS, headers=people.recipient.headers, params=params)
        assert response.status_code == 200, response.text
        return {g["id"] for g in response.json()["items"]}

    assert await listed() == {early["id"], late["id"]}
    assert await listed(status="awarded") == {late["id"]}
    assert await listed(year=2008) == {early["id"]}
    assert await listed(year=2012) == {late["id"]}
    assert await listed(recipient_organisation_id=str(uuid.uuid4())) == set()
    page = await grants.get(GRANTS, headers=people.recipient.headers, params={"limit": 1})
    assert len(page.json()["items"]) == 1
    assert page.json()["next_cursor"] is not None


async def test_row_level_security_shows_a_grant_to_its_parties_only(
    grants: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    grant = await awarded(grants, people)
    grant_id = uuid.UUID(grant["id"])
    seen = {}
    for who in (people.manager, people.cofunder, people.recipient, people.other_ngo):
        async with runtime.transaction():
            await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(who.org_id))
            seen[who.org_id] = (
                await runtime.fetchval("SELECT count(*) FROM grant_award WHERE id = $1", grant_id),
                await runtime.fetchval(
                    "SELECT count(*) FROM grant_funder WHERE grant_id = $1", grant_id
                ),
            )
    assert seen == {
        people.manager.org_id: (1, 2),
        people.cofunder.org_id: (1, 2),
        people.recipient.org_id: (1, 2),
        people.other_ngo.org_id: (0, 0),
    }


async def test_the_runtime_role_cannot_bypass_row_level_security(
    runtime: asyncpg.Connection,
) -> None:
    await assert_row_level_security_forced(runtime, PARTY_TABLES)


async def test_the_organisation_does_not_outlive_its_transaction(
    grants: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    await awarded(grants, people)  # the award makes its reporting requirements
    await assert_organisation_ends_with_its_transaction(
        runtime, people.recipient.org_id, ("grant_award", "grant_funder", "reporting_requirement")
    )
