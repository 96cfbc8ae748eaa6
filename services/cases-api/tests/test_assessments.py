"""Monitoring assessments: validation, date order, progress per domain, own organisation only."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.testing import assert_row_level_security_forced
from cases_factories import CallerFactory
from plans_factories import (
    audit_actions,
    close_case,
    days_ago,
    new_assessment,
    open_case,
    rows_of_case,
)

DOMAINS = (
    "safety",
    "housing",
    "physical_health",
    "mental_wellbeing",
    "economic_situation",
    "education_skills",
    "family_social_relations",
    "legal_status",
)


def _path(case: dict[str, Any], leaf: str | None = None) -> str:
    base = f"/v1/cases/{case['id']}/assessments"
    return base if leaf is None else f"{base}/{leaf}"


async def test_an_assessment_is_recorded_with_its_author_and_read_back(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    created = await new_assessment(cases, worker, case["id"], days_ago(3), safety=2, housing=1)
    assert created["assessed_by"] == worker.subject
    assert (created["case_id"], created["beneficiary_id"]) == (case["id"], case["beneficiary_id"])
    assert created["assessed_on"] == days_ago(3).isoformat()
    assert created["scores"] == {
        domain: {"safety": 2, "housing": 1}.get(domain) for domain in DOMAINS
    }
    read = await cases.get(_path(case, created["id"]), headers=worker.headers)
    assert (read.status_code, read.json()) == (200, created)
    assert await audit_actions(superuser, created["id"]) == ["assessment.create"]


async def test_assessments_are_immutable_records(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    created = await new_assessment(cases, worker, case["id"], days_ago(3), safety=2)
    path = _path(case, created["id"])
    headers = worker.with_headers(if_match='"1"')
    for method in ("PATCH", "PUT", "DELETE"):
        response = await cases.request(
            method, path, json={"scores": {"safety": 5}}, headers=headers
        )
        assert response.status_code == 405, method
    assert (await cases.get(path, headers=worker.headers)).json()["scores"]["safety"] == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scores": {}}, "assessment-without-scores"),
        ({"scores": dict.fromkeys(DOMAINS)}, "assessment-without-scores"),
        ({"scores": {"safety": 0}}, "validation-failed"),
        ({"scores": {"safety": 6}}, "validation-failed"),
        ({"scores": {"safety": 2.5}}, "validation-failed"),
        ({"scores": {"happiness": 3}}, "validation-failed"),
        ({"scores": {"safety": 3}, "assessed_by": "someone-else"}, "validation-failed"),
        ({"scores": {"safety": 3}, "assessed_on": None}, "validation-failed"),
        (
            {"scores": {"safety": 3}, "assessed_on": days_ago(-2).isoformat()},
            "invalid-assessment-date",
        ),
        (
            {"scores": {"safety": 3}, "assessed_on": days_ago(401).isoformat()},
            "invalid-assessment-date",
        ),
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    body: dict[str, Any],
    code: str,
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker, started_days_ago=400)
    response = await cases.post(
        _path(case), json={"assessed_on": days_ago(1).isoformat(), **body}, headers=worker.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert await rows_of_case(superuser, "assessment", case["id"]) == 0


async def test_the_first_day_of_assistance_and_today_are_both_fine(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker, started_days_ago=10)
    await new_assessment(cases, worker, case["id"], days_ago(10), legal_status=1)
    await new_assessment(cases, worker, case["id"], days_ago(0), legal_status=2)


async def test_progress_shows_the_first_and_latest_score_of_each_domain(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    empty = await cases.get(_path(case, "progress"), headers=worker.headers)
    assert empty.status_code == 200, empty.text
    assert (empty.json()["assessments"], empty.json()["latest_assessed_on"]) == (0, None)
    assert all(d["first"] is None and d["change"] is None for d in empty.json()["domains"])

    # Recorded out of date order; the same day twice: the later record is the correction.
    await new_assessment(cases, worker, case["id"], days_ago(200), safety=3, housing=2)
    first = await new_assessment(
        cases, worker, case["id"], days_ago(390), safety=1, housing=1, mental_wellbeing=2
    )
    wrong = await new_assessment(cases, worker, case["id"], days_ago(20), safety=5, housing=2)
    corrected = await new_assessment(cases, worker, case["id"], days_ago(20), safety=4)

    response = await cases.get(_path(case, "progress"), headers=worker.headers)
    assert response.status_code == 200, response.text
    progress = response.json()
    assert progress["case_id"] == case["id"]
    assert progress["assessments"] == 4
    assert (progress["first_assessed_on"], progress["latest_assessed_on"]) == (
        days_ago(390).isoformat(),
        days_ago(20).isoformat(),
    )
    by_domain = {d["domain"]: d for d in progress["domains"]}
    assert list(by_domain) == list(DOMAINS)

    safety = by_domain["safety"]
    assert safety["first"] == {
        "score": 1,
        "assessed_on": days_ago(390).isoformat(),
        "assessment_id": first["id"],
    }
    assert safety["latest"] == {
        "score": 4,
        "assessed_on": days_ago(20).isoformat(),
        "assessment_id": corrected["id"],
    }
    assert (safety["change"], safety["times_assessed"]) == (3, 4)
    # The correction scored no housing: the latest housing score is the day's first record.
    housing = by_domain["housing"]
    assert (housing["latest"]["assessment_id"], housing["change"]) == (wrong["id"], 1)
    assert housing["times_assessed"] == 3
    mental = by_domain["mental_wellbeing"]
    assert (
        mental["first"]
        == mental["latest"]
        == {
            "score": 2,
            "assessed_on": days_ago(390).isoformat(),
            "assessment_id": first["id"],
        }
    )
    assert (mental["change"], mental["times_assessed"]) == (0, 1)
    legal = by_domain["legal_status"]
    assert (legal["first"], legal["latest"], legal["change"], legal["times_assessed"]) == (
        None,
        None,
        None,
        0,
    )


async def test_the_list_follows_the_dates_and_pages_through_them(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    late = await new_assessment(cases, worker, case["id"], days_ago(5), safety=4)
    early = await new_assessment(cases, worker, case["id"], days_ago(300), safety=1)
    same_day = [
        await new_assessment(cases, worker, case["id"], days_ago(100), safety=score)
        for score in (2, 3)
    ]
    expected = [early["id"], same_day[0]["id"], same_day[1]["id"], late["id"]]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = await cases.get(_path(case), params=params, headers=worker.headers)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    whole = await cases.get(_path(case), params={"limit": 4}, headers=worker.headers)
    assert [i["id"] for i in whole.json()["items"]] == expected
    assert whole.json()["next_cursor"] is None
    bad = await cases.get(_path(case), params={"cursor": "not-a-cursor"}, headers=worker.headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid-cursor"


async def test_a_closed_case_takes_no_new_assessments(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    manager = caller("ngo", ["case_manager"], org_id=worker.org_id)
    case = await open_case(cases, worker)
    await new_assessment(cases, worker, case["id"], days_ago(30), safety=3)
    await close_case(cases, manager, case)
    refused = await cases.post(
        _path(case),
        json={"assessed_on": days_ago(1).isoformat(), "scores": {"safety": 5}},
        headers=worker.headers,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "case-closed"
    assert await rows_of_case(superuser, "assessment", case["id"]) == 1
    progress = await cases.get(_path(case, "progress"), headers=worker.headers)
    assert progress.json()["assessments"] == 1


async def test_another_organisation_gets_not_found_on_every_endpoint(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await open_case(cases, owner)
    assessment = await new_assessment(cases, owner, case["id"], days_ago(3), safety=2)
    other = caller("ngo", ["case_manager"])
    attempts = [
        await cases.post(
            _path(case),
            json={"assessed_on": days_ago(1).isoformat(), "scores": {"safety": 5}},
            headers=other.headers,
        ),
        await cases.get(_path(case), headers=other.headers),
        await cases.get(_path(case, "progress"), headers=other.headers),
        await cases.get(_path(case, assessment["id"]), headers=other.headers),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert {r.json()["code"] for r in attempts} == {"case-not-found"}
    assert await rows_of_case(superuser, "assessment", case["id"]) == 1
    own_case = await open_case(cases, other)
    crossed = await cases.get(_path(own_case, assessment["id"]), headers=other.headers)
    assert (crossed.status_code, crossed.json()["code"]) == (404, "assessment-not-found")
    assert (await cases.get(_path(own_case), headers=other.headers)).json()["items"] == []


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
    assessment = await new_assessment(cases, owner, case["id"], days_ago(3), mental_wellbeing=1)
    outsider = caller(org_kind, roles, org_id=owner.org_id)
    attempts = [
        await cases.post(
            _path(case),
            json={"assessed_on": days_ago(1).isoformat(), "scores": {"safety": 5}},
            headers=outsider.headers,
        ),
        await cases.get(_path(case), headers=outsider.headers),
        await cases.get(_path(case, "progress"), headers=outsider.headers),
        await cases.get(_path(case, assessment["id"]), headers=outsider.headers),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all("mental_wellbeing" not in r.text for r in attempts)


async def test_the_database_keeps_scores_between_one_and_five(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    runtime: asyncpg.Connection,
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await open_case(cases, worker)
    assessment = await new_assessment(cases, worker, case["id"], days_ago(3), safety=2)
    ident = uuid.UUID(assessment["id"])
    for statement in (
        "UPDATE assessment SET housing = 6 WHERE id = $1",
        "UPDATE assessment SET legal_status = 0 WHERE id = $1",
        "UPDATE assessment SET safety = NULL WHERE id = $1",  # nothing scored any more
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await superuser.execute(statement, ident)
    await assert_row_level_security_forced(runtime, ["assessment"])
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(uuid.uuid4()))
        assert await runtime.fetchval("SELECT count(*) FROM assessment WHERE id = $1", ident) == 0
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(worker.org_id))
        assert await runtime.fetchval("SELECT count(*) FROM assessment WHERE id = $1", ident) == 1
