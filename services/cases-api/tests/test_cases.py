"""Cases: opening, concurrent updates, phases, protection clocks, closure, lists."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx

from cases_api.cases.phases import add_months, derived_phase
from cases_api.vocabulary import Phase
from cases_factories import CallerFactory, new_beneficiary, new_case


async def test_a_case_opens_for_an_own_beneficiary_only(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    opened = await new_case(cases, worker, beneficiary["id"])
    body = opened.json()
    assert opened.headers["etag"] == '"1"'
    assert (body["status"], body["assigned_to"]) == ("open", worker.subject)
    assert body["exploitation_forms"] == ["labour", "sexual"]

    stranger = caller("ngo", ["caseworker"])
    refused = await cases.post(
        "/v1/cases",
        json={"beneficiary_id": beneficiary["id"], "assistance_started_on": "2026-09-01"},
        headers=stranger.headers,
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == "beneficiary-not-found"


async def test_two_updates_from_the_same_etag_one_wins_one_gets_412(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    path = f"/v1/cases/{case['id']}"
    etag = (await cases.get(path, headers=worker.headers)).headers["etag"]

    results = await asyncio.gather(
        cases.patch(path, json={"risk_level": "high"}, headers=worker.with_headers(if_match=etag)),
        cases.patch(
            path, json={"risk_level": "critical"}, headers=worker.with_headers(if_match=etag)
        ),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
    winner = next(r for r in results if r.status_code == 200)
    loser = next(r for r in results if r.status_code == 412)
    assert loser.json()["code"] == "precondition-failed"
    final = await cases.get(path, headers=worker.headers)
    assert final.json()["risk_level"] == winner.json()["risk_level"]
    assert final.headers["etag"] == '"2"'


async def test_an_update_without_if_match_is_refused(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    response = await cases.patch(
        f"/v1/cases/{case['id']}", json={"risk_level": "low"}, headers=worker.headers
    )
    assert response.status_code == 428
    weak = await cases.patch(
        f"/v1/cases/{case['id']}",
        json={"risk_level": "low"},
        headers=worker.with_headers(if_match='W/"1"'),
    )
    assert weak.status_code == 412


def test_phases_follow_the_months_since_assistance_started() -> None:
    start = date(2025, 1, 31)
    assert add_months(start, 1) == date(2025, 2, 28)
    assert derived_phase(start, date(2025, 4, 29)) is Phase.crisis
    assert derived_phase(start, date(2025, 4, 30)) is Phase.transition
    assert derived_phase(start, date(2026, 1, 30)) is Phase.transition
    assert derived_phase(start, date(2026, 1, 31)) is Phase.reintegration


async def test_the_phase_is_derived_and_a_case_manager_may_override_it(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker)
    started = (date.today() - timedelta(days=200)).isoformat()
    case = (await new_case(cases, worker, beneficiary["id"], assistance_started_on=started)).json()
    assert (case["phase"], case["derived_phase"]) == ("transition", "transition")
    path = f"/v1/cases/{case['id']}/phase-override"
    body = {"phase": "crisis", "reason": "Renewed threats from the exploiter"}

    by_worker = await cases.post(path, json=body, headers=worker.with_headers(if_match='"1"'))
    assert by_worker.status_code == 403
    unreasoned = await cases.post(
        path, json={"phase": "crisis"}, headers=manager.with_headers(if_match='"1"')
    )
    assert unreasoned.status_code == 422
    done = await cases.post(path, json=body, headers=manager.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    assert (done.json()["phase"], done.json()["derived_phase"]) == ("crisis", "transition")
    assert done.json()["phase_override_by"] == manager.subject

    listed = await cases.get("/v1/cases", params={"phase": "crisis"}, headers=worker.headers)
    assert [item["id"] for item in listed.json()["items"]] == [case["id"]]
    listed = await cases.get("/v1/cases", params={"phase": "transition"}, headers=worker.headers)
    assert listed.json()["items"] == []


async def test_the_reflection_period_follows_the_jurisdiction(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    for jurisdiction, days, ends in (("BE", 45, "2026-10-16"), ("AL", 30, "2026-10-01")):
        reflection = {
            "jurisdiction": jurisdiction,
            "started_on": "2026-09-01",
            "informed_by": "officer-17",
            "informed_at": "2026-09-01T10:00:00Z",
        }
        case = (await new_case(cases, worker, beneficiary["id"], reflection=reflection)).json()
        assert (case["reflection_days"], case["reflection_ends_on"]) == (days, ends)
        assert case["reflection_informed_by"] == "officer-17"


async def test_closing_needs_a_case_manager_an_outcome_and_freezes_the_case(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker)
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    path = f"/v1/cases/{case['id']}"
    closure = {"outcome": "retrafficked", "closed_on": "2026-11-01"}

    assert (
        await cases.post(
            f"{path}/closure", json=closure, headers=worker.with_headers(if_match='"1"')
        )
    ).status_code == 403
    early = {"outcome": "reintegrated", "closed_on": "2026-08-01"}
    assert (
        await cases.post(
            f"{path}/closure", json=early, headers=manager.with_headers(if_match='"1"')
        )
    ).status_code == 422
    closed = await cases.post(
        f"{path}/closure", json=closure, headers=manager.with_headers(if_match='"1"')
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "retrafficked")
    frozen = await cases.patch(
        path, json={"risk_level": "low"}, headers=worker.with_headers(if_match='"2"')
    )
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "case-closed"
    # A person who comes back gets a new case.
    again = await new_case(cases, worker, beneficiary["id"], assistance_started_on="2026-11-10")
    assert again.json()["status"] == "open"


async def test_assignment_is_for_case_managers(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker)
    case = (await new_case(cases, worker, beneficiary["id"])).json()
    path = f"/v1/cases/{case['id']}/assignment"
    body = {"assigned_to": "caseworker-42"}
    assert (
        await cases.post(path, json=body, headers=worker.with_headers(if_match='"1"'))
    ).status_code == 403
    done = await cases.post(path, json=body, headers=manager.with_headers(if_match='"1"'))
    assert done.json()["assigned_to"] == "caseworker-42"
    mine = await cases.get(
        "/v1/cases", params={"assigned_to": "caseworker-42"}, headers=worker.headers
    )
    assert [item["id"] for item in mine.json()["items"]] == [case["id"]]


async def test_lists_filter_and_page_in_a_stable_order(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    labour = [
        (await new_case(cases, worker, beneficiary["id"], exploitation_forms=["labour"])).json()[
            "id"
        ]
        for _ in range(5)
    ]
    await new_case(cases, worker, beneficiary["id"], exploitation_forms=["begging"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"exploitation_form": "labour", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await cases.get("/v1/cases", params=params, headers=worker.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == labour
    bad = await cases.get("/v1/cases", params={"cursor": "not-a-cursor"}, headers=worker.headers)
    assert bad.status_code == 400
    too_big = await cases.get("/v1/cases", params={"limit": 1000}, headers=worker.headers)
    assert too_big.status_code == 422
