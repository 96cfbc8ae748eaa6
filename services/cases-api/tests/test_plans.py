"""Plan services: own organisation only, money as decimal strings, status rules, dates."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.testing import assert_row_level_security_forced
from cases_factories import Caller, CallerFactory
from plans_factories import (
    PLANTED_PROVIDER,
    audit_actions,
    close_case,
    days_ago,
    new_service,
    open_case,
    rows_of_case,
    service_body,
)


def _path(case: dict[str, Any], service: dict[str, Any] | None = None) -> str:
    base = f"/v1/cases/{case['id']}/services"
    return base if service is None else f"{base}/{service['id']}"


async def _patch(
    cases: httpx.AsyncClient,
    worker: Caller,
    case: dict[str, Any],
    service: dict[str, Any],
    **body: Any,
) -> httpx.Response:
    """PATCH based on the version last seen (`service` is updated on success)."""
    response = await cases.patch(
        _path(case, service),
        json=body,
        headers=worker.with_headers(if_match=f'"{service["version"]}"'),
    )
    if response.status_code == 200:
        service.update(response.json())
    return response


async def test_a_service_is_planned_for_an_own_case_with_its_cost_as_a_decimal_string(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    grant = str(uuid.uuid4())
    created = await cases.post(
        _path(case),
        json=service_body(cost_amount="1250.5", grant_id=grant),
        headers=worker.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert (body["status"], body["service_type"], body["version"]) == (
        "planned",
        "vocational_training",
        1,
    )
    assert (body["case_id"], body["beneficiary_id"]) == (case["id"], case["beneficiary_id"])
    assert (body["cost_amount"], body["cost_currency"], body["grant_id"]) == (
        "1250.50",
        "EUR",
        grant,
    )
    assert body["organisation_id"] == str(worker.org_id)

    read = await cases.get(_path(case, body), headers=worker.headers)
    assert read.headers["etag"] == '"1"'
    assert read.json() == body
    stored = await superuser.fetchval(
        "SELECT cost_amount::text FROM case_service WHERE id = $1", uuid.UUID(body["id"])
    )
    assert stored == "1250.50"


async def test_a_json_number_is_taken_as_a_decimal_and_the_own_organisation_as_no_provider(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(
        cases,
        worker,
        case["id"],
        cost_amount=0.1,
        provider_name=None,
        provider_organisation_id=str(worker.org_id),
    )
    assert (service["cost_amount"], service["provider_organisation_id"]) == ("0.10", None)
    partner = str(uuid.uuid4())
    other = await new_service(
        cases, worker, case["id"], provider_name=None, provider_organisation_id=partner
    )
    assert other["provider_organisation_id"] == partner
    # Naming an outside provider replaces the partner organisation.
    moved = await _patch(cases, worker, case, other, provider_name="Qendra Sociale")
    assert moved.status_code == 200, moved.text
    assert (other["provider_name"], other["provider_organisation_id"]) == ("Qendra Sociale", None)


@pytest.mark.parametrize(
    "fields",
    [
        {"cost_currency": None},  # an amount without its currency
        {"cost_amount": None},  # a currency without its amount
        {"cost_currency": "eur"},
        {"cost_currency": "EURO"},
        {"cost_currency": "E1R"},
        {"cost_amount": "-5.00"},
        {"cost_amount": "10.005"},
        {"cost_amount": "1000000000000.00"},
        {"cost_amount": "NaN"},
        {"cost_amount": "Infinity"},
        {"cost_amount": "a lot"},
        {"service_type": "shopping"},
        {"status": "delivered"},  # a service starts planned
        {"notes_summary": PLANTED_PROVIDER},  # no free text here
        {"provider_organisation_id": str(uuid.uuid4())},  # with a provider name as well
        {"provider_name": ""},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    fields: dict[str, Any],
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    body = service_body(**{"provider_name": PLANTED_PROVIDER, **fields})
    response = await cases.post(_path(case), json=body, headers=worker.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation-failed"
    assert PLANTED_PROVIDER not in response.text
    assert await rows_of_case(superuser, "case_service", case["id"]) == 0


async def test_planned_dates_must_fit_together_and_a_refused_patch_changes_nothing(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    backwards = {"planned_start": days_ago(1).isoformat(), "planned_end": days_ago(2).isoformat()}
    response = await cases.post(_path(case), json=service_body(**backwards), headers=worker.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid-service-dates"
    assert await rows_of_case(superuser, "case_service", case["id"]) == 0

    service = await new_service(cases, worker, case["id"])
    before = dict(service)
    refused = await _patch(cases, worker, case, service, planned_end=days_ago(31).isoformat())
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid-service-dates"
    after = await cases.get(_path(case, service), headers=worker.headers)
    assert (after.json(), after.headers["etag"]) == (before, '"1"')
    assert await audit_actions(superuser, service["id"]) == ["service.create"]


async def test_a_service_moves_planned_in_progress_delivered_and_then_is_final(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])

    skipped = await _patch(
        cases, worker, case, service, status="delivered", delivered_on=days_ago(1).isoformat()
    )
    assert skipped.status_code == 409
    assert skipped.json()["code"] == "invalid-service-transition"
    early = await _patch(cases, worker, case, service, started_on=days_ago(5).isoformat())
    assert early.status_code == 422
    assert early.json()["code"] == "invalid-service-dates"

    started = await _patch(
        cases, worker, case, service, status="in_progress", started_on=days_ago(20).isoformat()
    )
    assert started.status_code == 200, started.text
    assert (started.headers["etag"], service["status"]) == ('"2"', "in_progress")
    back = await _patch(cases, worker, case, service, status="planned")
    assert back.status_code == 409
    assert back.json()["code"] == "invalid-service-transition"

    undated = await _patch(cases, worker, case, service, status="delivered")
    assert undated.status_code == 422
    assert undated.json()["code"] == "invalid-service-dates"
    before_start = await _patch(
        cases, worker, case, service, status="delivered", delivered_on=days_ago(21).isoformat()
    )
    assert before_start.status_code == 422
    assert before_start.json()["code"] == "invalid-service-dates"
    future = await _patch(
        cases, worker, case, service, status="delivered", delivered_on=days_ago(-3).isoformat()
    )
    assert future.status_code == 422
    delivered = await _patch(
        cases,
        worker,
        case,
        service,
        status="delivered",
        delivered_on=days_ago(2).isoformat(),
        cost_amount="980",
        cost_currency="ALL",
    )
    assert delivered.status_code == 200, delivered.text
    assert (service["status"], service["version"]) == ("delivered", 3)
    assert (service["cost_amount"], service["cost_currency"]) == ("980.00", "ALL")

    for change in ({"status": "cancelled"}, {"cost_amount": "1.00", "cost_currency": "EUR"}):
        final = await _patch(cases, worker, case, service, **change)
        assert final.status_code == 409
        assert final.json()["code"] == "service-final"
    assert await audit_actions(superuser, service["id"]) == [
        "service.create",
        "service.update",
        "service.update",
    ]


@pytest.mark.parametrize("start_first", [False, True])
async def test_a_planned_or_started_service_may_be_cancelled_for_good(
    cases: httpx.AsyncClient, caller: CallerFactory, start_first: bool
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    if start_first:
        started = await _patch(cases, worker, case, service, status="in_progress")
        assert started.status_code == 200, started.text
    cancelled = await _patch(cases, worker, case, service, status="cancelled")
    assert cancelled.status_code == 200, cancelled.text
    again = await _patch(cases, worker, case, service, status="in_progress")
    assert again.status_code == 409
    assert again.json()["code"] == "service-final"


async def test_costs_change_together_and_clear_together(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    for alone in ({"cost_amount": "10.00"}, {"cost_currency": "USD"}, {"cost_amount": None}):
        refused = await _patch(cases, worker, case, service, **alone)
        assert refused.status_code == 422, alone
        assert refused.json()["code"] == "validation-failed"
    half = await _patch(cases, worker, case, service, cost_amount=None, cost_currency="EUR")
    assert half.status_code == 422
    cleared = await _patch(cases, worker, case, service, cost_amount=None, cost_currency=None)
    assert cleared.status_code == 200, cleared.text
    assert (service["cost_amount"], service["cost_currency"], service["version"]) == (None, None, 2)


async def test_an_update_needs_the_current_etag(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    path = _path(case, service)
    change = {"service_type": "education"}
    missing = await cases.patch(path, json=change, headers=worker.headers)
    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition-required"
    weak = await cases.patch(path, json=change, headers=worker.with_headers(if_match='W/"1"'))
    assert weak.status_code == 412
    done = await cases.patch(path, json=change, headers=worker.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    stale = await cases.patch(
        path, json={"service_type": "legal"}, headers=worker.with_headers(if_match='"1"')
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition-failed"
    assert stale.headers["etag"] == '"2"'
    final = await cases.get(path, headers=worker.headers)
    assert (final.json()["service_type"], final.headers["etag"]) == ("education", '"2"')


async def test_a_closed_case_takes_no_new_services_and_its_services_do_not_change(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    await close_case(cases, manager, case)

    refused = await cases.post(_path(case), json=service_body(), headers=worker.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "case-closed"
    frozen = await _patch(cases, worker, case, service, status="cancelled")
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "case-closed"
    assert await rows_of_case(superuser, "case_service", case["id"]) == 1
    # What was recorded stays readable.
    read = await cases.get(_path(case, service), headers=worker.headers)
    assert (read.status_code, read.json()["status"]) == (200, "planned")


async def test_another_organisation_gets_not_found_on_every_endpoint(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await open_case(cases, owner)
    service = await new_service(cases, owner, case["id"])
    other = caller("ngo", ["case_manager"])
    attempts = [
        await cases.post(_path(case), json=service_body(), headers=other.headers),
        await cases.get(_path(case), headers=other.headers),
        await cases.get(_path(case, service), headers=other.headers),
        await cases.patch(
            _path(case, service),
            json={"status": "cancelled"},
            headers=other.with_headers(if_match='"1"'),
        ),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert {r.json()["code"] for r in attempts} == {"case-not-found"}
    # Its own case does not reach the owner's service either.
    own_case = await open_case(cases, other)
    crossed = await cases.get(_path(own_case, service), headers=other.headers)
    assert crossed.status_code == 404
    assert crossed.json()["code"] == "service-not-found"
    assert (await cases.get(_path(own_case), headers=other.headers)).json()["items"] == []
    # And the owner's service is untouched.
    still = await cases.get(_path(case, service), headers=owner.headers)
    assert (still.json()["status"], still.json()["version"]) == ("planned", 1)


async def test_a_service_is_found_only_under_its_own_case(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case, sibling = await open_case(cases, worker), await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    for response in (
        await cases.get(_path(sibling, service), headers=worker.headers),
        await cases.patch(
            _path(sibling, service),
            json={"status": "cancelled"},
            headers=worker.with_headers(if_match='"1"'),
        ),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "service-not-found"


@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [
        ("donor", ["grant_manager"]),
        ("donor", ["donor_viewer"]),
        ("donor", ["caseworker"]),
        ("government", ["referrer"]),
        ("ngo", ["auditor"]),
        ("platform", ["platform_admin"]),
    ],
)
async def test_donors_referrers_auditors_and_operators_are_refused(
    cases: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await open_case(cases, owner)
    service = await new_service(cases, owner, case["id"])
    # Even an outsider claiming the owner's organisation is refused before any lookup.
    outsider = caller(org_kind, roles, org_id=owner.org_id)
    attempts = [
        await cases.post(_path(case), json=service_body(), headers=outsider.headers),
        await cases.get(_path(case), headers=outsider.headers),
        await cases.get(_path(case, service), headers=outsider.headers),
        await cases.patch(
            _path(case, service),
            json={"status": "cancelled"},
            headers=outsider.with_headers(if_match='"1"'),
        ),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert "Qendra" not in "".join(r.text for r in attempts)


async def test_lists_filter_by_status_and_type_and_page_in_a_stable_order(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    medical = [
        (await new_service(cases, worker, case["id"], service_type="medical"))["id"]
        for _ in range(5)
    ]
    legal = await new_service(cases, worker, case["id"], service_type="legal")
    started = await _patch(cases, worker, case, legal, status="in_progress")
    assert started.status_code == 200

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"service_type": "medical", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await cases.get(_path(case), params=params, headers=worker.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == medical
    in_progress = await cases.get(
        _path(case), params={"status": "in_progress"}, headers=worker.headers
    )
    assert [item["id"] for item in in_progress.json()["items"]] == [legal["id"]]
    everything = await cases.get(_path(case), headers=worker.headers)
    assert len(everything.json()["items"]) == 6
    bad = await cases.get(_path(case), params={"status": "lost"}, headers=worker.headers)
    assert bad.status_code == 422


async def test_row_level_security_guards_services_underneath(
    cases: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await open_case(cases, owner)
    service = await new_service(cases, owner, case["id"])
    await assert_row_level_security_forced(runtime, ["case_service"])
    async with runtime.transaction():
        assert await runtime.fetchval("SELECT count(*) FROM case_service") == 0
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(uuid.uuid4()))
        updated = await runtime.execute(
            "UPDATE case_service SET status = 'cancelled' WHERE id = $1", uuid.UUID(service["id"])
        )
        assert updated == "UPDATE 0"
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(owner.org_id))
        assert (
            await runtime.fetchval(
                "SELECT count(*) FROM case_service WHERE case_id = $1", uuid.UUID(case["id"])
            )
            == 1
        )


async def test_the_database_refuses_a_cost_without_its_currency(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    service = await new_service(cases, worker, case["id"])
    ident = uuid.UUID(service["id"])
    for statement in (
        "UPDATE case_service SET cost_currency = NULL WHERE id = $1",
        "UPDATE case_service SET cost_currency = 'eur' WHERE id = $1",
        "UPDATE case_service SET cost_amount = -1 WHERE id = $1",
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await superuser.execute(statement, ident)
