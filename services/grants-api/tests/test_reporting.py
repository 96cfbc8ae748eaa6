"""Reporting: what a grant owes, the reports the recipient sends, the managing donor's
review, and the compliance each party reads; nobody else sees any of it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from baton.db import Database
from baton.tenancy import bind_tenant
from baton.testing_issuer import Caller, CallerFactory
from grants_api.config import GrantsSettings
from grants_api.grants.models import Grant
from grants_api.reporting import service
from grants_api.reporting.defaults import create_default_requirements
from grants_factories import GrantParties, grant_parties, insert_grant
from reporting_factories import (
    REPORT,
    count_rows,
    days_from_today,
    insert_requirement,
    insert_submission,
    post_step,
    requirement_url,
    requirements_url,
    submit,
    today,
)


@pytest.fixture
def parties(caller: CallerFactory) -> GrantParties:
    return grant_parties(caller)


@pytest.fixture
async def grant_id(superuser: asyncpg.Connection, parties: GrantParties) -> uuid.UUID:
    return await insert_grant(superuser, parties)


@pytest.fixture
async def requirement_id(superuser: asyncpg.Connection, grant_id: uuid.UUID) -> uuid.UUID:
    return await insert_requirement(superuser, grant_id)


@pytest.fixture
async def session(grants_settings: GrantsSettings) -> AsyncIterator[AsyncSession]:
    """A session as the service's runtime role (row-level security applies)."""
    database = Database(grants_settings, application_name="grants-api-tests")
    try:
        async with database.sessionmaker() as session:
            yield session
            await session.commit()
    finally:
        await database.dispose()


def managers_only(parties: GrantParties) -> list[tuple[Caller, int, str]]:
    """Who is refused what the managing donor alone does."""
    return [
        (parties.cofunder, 403, "grant-not-managed-by-you"),
        (parties.viewer, 403, "forbidden"),
        (parties.recipient, 403, "forbidden"),
        (parties.other_donor, 404, "grant-not-found"),
    ]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem


async def stored_state(superuser: asyncpg.Connection, requirement_id: uuid.UUID) -> tuple[str, int]:
    row = await superuser.fetchrow(
        "SELECT status, version FROM reporting_requirement WHERE id = $1", requirement_id
    )
    assert row is not None
    return row["status"], row["version"]


# The defaults made on award


async def _load_grant(session: AsyncSession, parties: GrantParties, grant_id: uuid.UUID) -> Grant:
    await bind_tenant(session, parties.manager.org_id)
    grant = await session.get(Grant, grant_id)
    assert grant is not None
    return grant


async def test_defaults_fall_due_after_the_midpoint_and_after_the_end(
    session: AsyncSession,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grants_settings: GrantsSettings,
) -> None:
    grant_id = await insert_grant(
        superuser, parties, planned_start=date(2011, 1, 1), planned_end=date(2012, 12, 31)
    )
    grant = await _load_grant(session, parties, grant_id)

    added = await create_default_requirements(session, grants_settings, grant)
    await session.commit()

    # 730 days: the midpoint is 2012-01-01; 30 days later, and 60 after the planned end.
    assert {(r.kind, r.due_on, r.status, r.version) for r in added} == {
        ("interim", date(2012, 1, 31), "due", 1),
        ("final", date(2013, 3, 1), "due", 1),
    }
    rows = await superuser.fetch(
        "SELECT kind, due_on, status FROM reporting_requirement WHERE grant_id = $1", grant_id
    )
    assert sorted((r["kind"], r["due_on"], r["status"]) for r in rows) == [
        ("final", date(2013, 3, 1), "due"),
        ("interim", date(2012, 1, 31), "due"),
    ]


async def test_defaults_follow_the_settings_and_round_the_midpoint_down(
    session: AsyncSession,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grants_settings: GrantsSettings,
) -> None:
    settings = grants_settings.model_copy(
        update={"interim_report_due_days": 0, "final_report_due_days": 14}
    )
    # Eleven days, 2024-03-01 to 2024-03-12: the midpoint is 2024-03-06 (5 days in).
    grant_id = await insert_grant(
        superuser, parties, planned_start=date(2024, 3, 1), planned_end=date(2024, 3, 12)
    )
    grant = await _load_grant(session, parties, grant_id)

    added = await create_default_requirements(session, settings, grant)

    assert {r.kind: r.due_on for r in added} == {
        "interim": date(2024, 3, 6),
        "final": date(2024, 3, 26),
    }


async def test_defaults_add_only_the_kinds_a_grant_lacks(
    session: AsyncSession,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grants_settings: GrantsSettings,
) -> None:
    grant_id = await insert_grant(superuser, parties)
    interim = await insert_requirement(superuser, grant_id, kind="interim", due_on=date(2011, 9, 1))
    grant = await _load_grant(session, parties, grant_id)

    first = await create_default_requirements(session, grants_settings, grant)
    again = await create_default_requirements(session, grants_settings, grant)
    await session.commit()

    assert [r.kind for r in first] == ["final"]
    assert again == []
    rows = await superuser.fetch(
        "SELECT id, kind, due_on FROM reporting_requirement WHERE grant_id = $1", grant_id
    )
    assert sorted(r["kind"] for r in rows) == ["final", "interim"]
    # The one the grant had is left as it was.
    assert {r["kind"]: (r["id"], r["due_on"]) for r in rows}["interim"] == (
        interim,
        date(2011, 9, 1),
    )


# Reading a grant's requirements


async def test_every_party_reads_the_requirements_with_their_status_today(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    late = await insert_requirement(superuser, grant_id, due_on=days_from_today(-1))
    on_time = await insert_requirement(superuser, grant_id, kind="final", due_on=days_from_today(0))
    sent_back = await insert_requirement(
        superuser, grant_id, kind="other", due_on=days_from_today(-3), status="revision_requested"
    )
    for who in (parties.manager, parties.viewer, parties.cofunder, parties.recipient):
        response = await grants.get(requirements_url(grant_id), headers=who.headers)
        assert response.status_code == 200, response.text
        shown = {item["id"]: item["status"] for item in response.json()["items"]}
        assert shown == {
            str(late): "overdue",
            str(on_time): "due",
            str(sent_back): "overdue",
        }
    single = await grants.get(requirement_url(grant_id, on_time), headers=parties.recipient.headers)
    assert single.status_code == 200
    assert single.headers["ETag"] == '"1"'
    assert single.json()["submitted_late"] is False


async def test_strangers_get_the_404_of_a_missing_grant(
    grants: httpx.AsyncClient,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    urls = (
        requirements_url(grant_id),
        requirement_url(grant_id, requirement_id),
        requirement_url(grant_id, requirement_id, "/submissions"),
    )
    for url in urls:
        for who in (parties.other_ngo, parties.other_donor):
            assert_problem(await grants.get(url, headers=who.headers), 404, "grant-not-found")
        assert_problem(
            await grants.get(url, headers=parties.recipient_worker.headers), 403, "forbidden"
        )
    missing = await grants.get(requirements_url(uuid.uuid4()), headers=parties.manager.headers)
    assert_problem(missing, 404, "grant-not-found")


async def test_a_requirement_is_found_only_under_its_own_grant(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    requirement_id: uuid.UUID,
) -> None:
    other_grant = await insert_grant(superuser, parties)
    response = await grants.get(
        requirement_url(other_grant, requirement_id), headers=parties.manager.headers
    )
    assert_problem(response, 404, "requirement-not-found")
    submitted = await submit(grants, parties.recipient, other_grant, requirement_id, 1)
    assert_problem(submitted, 404, "requirement-not-found")


# Adding and moving requirements (the managing donor)


async def test_the_manager_adds_a_requirement_once_per_idempotency_key(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    body = {"kind": "other", "due_on": "2031-06-30"}
    headers = parties.manager.with_headers(idempotency_key="add-other-report")

    first = await grants.post(requirements_url(grant_id), json=body, headers=headers)
    again = await grants.post(requirements_url(grant_id), json=body, headers=headers)

    assert first.status_code == 201, first.text
    created = first.json()
    assert (created["kind"], created["due_on"], created["status"]) == ("other", "2031-06-30", "due")
    assert first.headers["ETag"] == '"1"'
    assert first.headers["Location"] == requirement_url(grant_id, created["id"])
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created
    count = await superuser.fetchval(
        "SELECT count(*) FROM reporting_requirement WHERE grant_id = $1", grant_id
    )
    assert count == 1


async def test_only_the_managing_donor_adds_requirements(
    grants: httpx.AsyncClient, parties: GrantParties, grant_id: uuid.UUID
) -> None:
    body = {"kind": "interim", "due_on": "2031-06-30"}
    url = requirements_url(grant_id)
    for who, status, code in managers_only(parties):
        assert_problem(await grants.post(url, json=body, headers=who.headers), status, code)


@pytest.mark.parametrize("status", ["draft", "closed", "terminated"])
async def test_a_grant_not_awarded_or_finished_takes_no_requirement(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    status: str,
) -> None:
    grant_id = await insert_grant(superuser, parties, status=status)
    response = await grants.post(
        requirements_url(grant_id),
        json={"kind": "interim", "due_on": "2031-06-30"},
        headers=parties.manager.headers,
    )
    problem = assert_problem(response, 409, "grant-invalid-status")
    assert status in problem["detail"]


async def test_an_awarded_grant_takes_a_requirement(
    grants: httpx.AsyncClient, superuser: asyncpg.Connection, parties: GrantParties
) -> None:
    grant_id = await insert_grant(superuser, parties, status="awarded")
    response = await grants.post(
        requirements_url(grant_id),
        json={"kind": "final", "due_on": "2031-06-30"},
        headers=parties.manager.headers,
    )
    assert response.status_code == 201, response.text


async def test_the_manager_moves_a_due_date_with_if_match(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    url = requirement_url(grant_id, requirement_id)
    body = {"due_on": "2032-01-15"}

    missing = await grants.patch(url, json=body, headers=parties.manager.headers)
    stale = await grants.patch(url, json=body, headers=parties.manager.with_headers(if_match='"7"'))
    moved = await grants.patch(url, json=body, headers=parties.manager.with_headers(if_match='"1"'))
    replayed = await grants.patch(
        url, json=body, headers=parties.manager.with_headers(if_match='"1"')
    )

    assert_problem(missing, 428, "precondition-required")
    assert_problem(stale, 412, "precondition-failed")
    assert moved.status_code == 200, moved.text
    assert moved.json()["due_on"] == "2032-01-15"
    assert moved.headers["ETag"] == '"2"'
    assert_problem(replayed, 412, "precondition-failed")
    due_on = await superuser.fetchval(
        "SELECT due_on FROM reporting_requirement WHERE id = $1", requirement_id
    )
    assert due_on == date(2032, 1, 15)


async def test_only_the_managing_donor_moves_a_due_date(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    url = requirement_url(grant_id, requirement_id)
    for who, status, code in managers_only(parties):
        response = await grants.patch(
            url, json={"due_on": "2032-01-15"}, headers=who.with_headers(if_match='"1"')
        )
        assert_problem(response, status, code)
    assert await stored_state(superuser, requirement_id) == ("due", 1)


async def test_an_accepted_reports_due_date_stays(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    accepted = await insert_requirement(superuser, grant_id, status="accepted", version=3)
    response = await grants.patch(
        requirement_url(grant_id, accepted),
        json={"due_on": "2032-01-15"},
        headers=parties.manager.with_headers(if_match='"3"'),
    )
    assert_problem(response, 409, "requirement-accepted")
    assert await stored_state(superuser, accepted) == ("accepted", 3)


# Submitting and reviewing


async def test_the_full_cycle_keeps_both_submissions(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    reviewing = requirement_url(grant_id, requirement_id)

    first = await submit(grants, parties.recipient, grant_id, requirement_id, 1)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "submitted"
    assert first.json()["submitted_at"] is not None
    assert first.headers["ETag"] == '"2"'

    unexplained = await post_step(grants, parties.manager, reviewing + "/request-revision", 2, {})
    assert_problem(unexplained, 422, "validation-failed")
    blank = await post_step(
        grants, parties.manager, reviewing + "/request-revision", 2, {"comment": "   "}
    )
    assert_problem(blank, 422, "validation-failed")
    sent_back = await post_step(
        grants,
        parties.manager,
        reviewing + "/request-revision",
        2,
        {"comment": "Add the figures for the second half of the year."},
    )
    assert sent_back.status_code == 200, sent_back.text
    assert sent_back.json()["status"] == "revision_requested"
    assert sent_back.json()["reviewed_by"] == parties.manager.subject
    assert sent_back.json()["reviewed_at"] is not None
    assert sent_back.json()["review_comment"].startswith("Add the figures")
    assert sent_back.headers["ETag"] == '"3"'

    revised = {**REPORT, "narrative": "The whole year, both halves, as asked."}
    second = await submit(grants, parties.recipient, grant_id, requirement_id, 3, revised)
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "submitted"
    assert second.headers["ETag"] == '"4"'

    accepted = await post_step(grants, parties.manager, reviewing + "/accept", 4)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["review_comment"] is None
    assert accepted.headers["ETag"] == '"5"'
    assert await stored_state(superuser, requirement_id) == ("accepted", 5)

    for who in (parties.recipient, parties.viewer, parties.cofunder):
        listed = await grants.get(reviewing + "/submissions", headers=who.headers)
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert [item["narrative"] for item in items] == [REPORT["narrative"], revised["narrative"]]
        assert items[0]["figures"] == REPORT["figures"]
        assert items[0]["submitted_by"] == parties.recipient.subject
        assert items[0]["submitted_at"] <= items[1]["submitted_at"]


async def test_submissions_are_paged_oldest_first(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    moments = [datetime(2012, 1, day, tzinfo=UTC) for day in (3, 1, 2)]
    ids = [await insert_submission(superuser, grant_id, requirement_id, m) for m in moments]
    url = requirement_url(grant_id, requirement_id, "/submissions")

    first = await grants.get(url, params={"limit": 2}, headers=parties.manager.headers)
    cursor = first.json()["next_cursor"]
    rest = await grants.get(
        url, params={"limit": 2, "cursor": cursor}, headers=parties.manager.headers
    )

    seen = [item["id"] for item in first.json()["items"] + rest.json()["items"]]
    assert seen == [str(ids[1]), str(ids[2]), str(ids[0])]
    assert rest.json()["next_cursor"] is None


async def test_the_accept_comment_is_kept_and_screened(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    submitted = await insert_requirement(superuser, grant_id, status="submitted", version=2)
    url = requirement_url(grant_id, submitted, "/accept")

    leaking = await post_step(
        grants, parties.manager, url, 2, {"comment": "Thanks; call me on 069 123 4567 tomorrow."}
    )
    problem = assert_problem(leaking, 422, "identifier-in-text")
    assert "phone number" in problem["detail"]
    assert await stored_state(superuser, submitted) == ("submitted", 2)

    accepted = await post_step(grants, parties.manager, url, 2, {"comment": "Clear and complete."})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["review_comment"] == "Clear and complete."


async def test_a_revision_comment_is_screened(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    submitted = await insert_requirement(superuser, grant_id, status="submitted", version=2)
    response = await post_step(
        grants,
        parties.manager,
        requirement_url(grant_id, submitted, "/request-revision"),
        2,
        {"comment": "Ask anna.k@example.org for the missing part."},
    )
    problem = assert_problem(response, 422, "identifier-in-text")
    assert "e-mail address" in problem["detail"]
    assert "example.org" not in response.text
    assert await stored_state(superuser, submitted) == ("submitted", 2)


@pytest.mark.parametrize("stored", ["accepted", "submitted"])
async def test_a_report_is_submitted_only_while_open(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    stored: str,
) -> None:
    closed = await insert_requirement(superuser, grant_id, status=stored, version=4)
    response = await submit(grants, parties.recipient, grant_id, closed, 4)
    problem = assert_problem(response, 409, "requirement-not-open")
    assert stored in problem["detail"]
    assert await count_rows(superuser, "report_submission", closed) == 0


@pytest.mark.parametrize("stored", ["due", "revision_requested", "accepted"])
@pytest.mark.parametrize("step", ["accept", "request-revision"])
async def test_only_a_submitted_report_is_reviewed(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    stored: str,
    step: str,
) -> None:
    requirement = await insert_requirement(superuser, grant_id, status=stored, version=2)
    response = await post_step(
        grants,
        parties.manager,
        requirement_url(grant_id, requirement, f"/{step}"),
        2,
        {"comment": "Looked at it."},
    )
    problem = assert_problem(response, 409, "requirement-not-submitted")
    assert stored in problem["detail"]
    assert await stored_state(superuser, requirement) == (stored, 2)


async def test_only_the_recipient_submits(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    caller: CallerFactory,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    # An NGO among the grant's funders: a party with the permission, not the recipient.
    funding_ngo = caller("ngo", ["case_manager"], org_id=parties.cofunder.org_id)
    refused: list[tuple[Caller, int, str]] = [
        (funding_ngo, 403, "grant-not-received-by-you"),
        # A donor's roles never carry `grant_report:submit`: refused on the permission.
        (parties.manager, 403, "forbidden"),
        (parties.recipient_worker, 403, "forbidden"),
        (parties.other_ngo, 404, "grant-not-found"),
    ]
    for who, status, code in refused:
        response = await submit(grants, who, grant_id, requirement_id, 1)
        assert_problem(response, status, code)
    assert await count_rows(superuser, "report_submission", requirement_id) == 0
    assert await stored_state(superuser, requirement_id) == ("due", 1)


@pytest.mark.parametrize("step", ["accept", "request-revision"])
async def test_only_the_managing_donor_reviews(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    step: str,
) -> None:
    submitted = await insert_requirement(superuser, grant_id, status="submitted", version=2)
    url = requirement_url(grant_id, submitted, f"/{step}")
    for who, status, code in managers_only(parties):
        response = await post_step(grants, who, url, 2, {"comment": "Fine."})
        assert_problem(response, status, code)
    assert await stored_state(superuser, submitted) == ("submitted", 2)


@pytest.mark.parametrize(
    ("path", "body"),
    [("/submissions", REPORT), ("/accept", None), ("/request-revision", {"comment": "More."})],
)
async def test_steps_need_the_current_etag(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    stored = "due" if path == "/submissions" else "submitted"
    requirement = await insert_requirement(superuser, grant_id, status=stored, version=2)
    who = parties.recipient if path == "/submissions" else parties.manager
    url = requirement_url(grant_id, requirement, path)

    assert_problem(await post_step(grants, who, url, None, body), 428, "precondition-required")
    stale = await post_step(grants, who, url, 1, body)
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["ETag"] == '"2"'
    assert await stored_state(superuser, requirement) == (stored, 2)
    assert await count_rows(superuser, "report_submission", requirement) == 0


# What a report may hold


@pytest.mark.parametrize(
    ("narrative", "kind"),
    [
        ("The coordinator is reachable at maria.p@example.org for questions.", "e-mail address"),
        ("Her family called from +355 69 123 4567 during the year.", "phone number"),
        ("His passport AB1234567 was recovered from the employer.", "document number"),
    ],
)
async def test_a_narrative_holding_an_identifier_is_refused_and_nothing_is_stored(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    narrative: str,
    kind: str,
) -> None:
    response = await submit(
        grants, parties.recipient, grant_id, requirement_id, 1, {**REPORT, "narrative": narrative}
    )
    problem = assert_problem(response, 422, "identifier-in-text")
    assert kind in problem["detail"]
    assert "narrative" in problem["detail"]
    assert narrative not in response.text
    assert await count_rows(superuser, "report_submission", requirement_id) == 0
    assert await stored_state(superuser, requirement_id) == ("due", 1)


@pytest.mark.parametrize(
    "figures",
    [
        {"persons_assisted": "forty-two"},
        {"persons_assisted": {"women": 30, "men": 12}},
        {"persons_assisted": [30, 12]},
        {"persons_assisted": -1},
        {"persons_assisted": 4.2},
        {"persons_assisted": True},
        {"persons_assisted": None},
        {"Persons Assisted": 42},
        {"maria_popescu assisted": 1},
        {"9lives": 1},
        {f"figure_{n}": n for n in range(51)},
    ],
)
async def test_figures_are_aggregates_only(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    figures: dict[str, Any],
) -> None:
    response = await submit(
        grants, parties.recipient, grant_id, requirement_id, 1, {**REPORT, "figures": figures}
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["location"] == ["body", "figures"]
    # Neither a rejected name nor a rejected value comes back.
    for name, value in figures.items():
        assert name not in response.text or name.startswith("figure_")
        if isinstance(value, str):
            assert value not in response.text
    assert await count_rows(superuser, "report_submission", requirement_id) == 0


async def test_figures_keep_whole_numbers_and_decimal_strings(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    figures = {"persons_assisted": 0, "cost_per_night": "18.50", **{f"f{n}": n for n in range(48)}}
    response = await submit(
        grants, parties.recipient, grant_id, requirement_id, 1, {**REPORT, "figures": figures}
    )
    assert response.status_code == 200, response.text
    stored = await superuser.fetchval(
        "SELECT figures::text FROM report_submission WHERE requirement_id = $1", requirement_id
    )
    assert '"cost_per_night": "18.50"' in stored
    assert '"persons_assisted": 0' in stored


@pytest.mark.parametrize(
    "change",
    [
        {"period_start": "2012-01-01", "period_end": "2011-12-31"},
        {"narrative": ""},
        {"narrative": "x" * 20001},
        {"unexpected": "field"},
    ],
)
async def test_a_report_must_be_well_formed(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
    change: dict[str, Any],
) -> None:
    response = await submit(
        grants, parties.recipient, grant_id, requirement_id, 1, {**REPORT, **change}
    )
    assert_problem(response, 422, "validation-failed")
    assert await count_rows(superuser, "report_submission", requirement_id) == 0


async def test_a_retried_submission_makes_one_submission(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    first = await submit(grants, parties.recipient, grant_id, requirement_id, 1, key="report-1")
    # The retry still names the version it was based on: the stored answer comes back.
    again = await submit(grants, parties.recipient, grant_id, requirement_id, 1, key="report-1")
    other_body = {**REPORT, "narrative": "Another text entirely."}
    reused = await submit(
        grants, parties.recipient, grant_id, requirement_id, 1, other_body, key="report-1"
    )

    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == '"2"'
    assert again.json() == first.json()
    assert_problem(reused, 422, "idempotency-key-reused")
    assert await count_rows(superuser, "report_submission", requirement_id) == 1
    assert await stored_state(superuser, requirement_id) == ("submitted", 2)


# Overdue and late


async def test_a_requirement_due_yesterday_is_overdue_and_its_report_late(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    late = await insert_requirement(superuser, grant_id, due_on=days_from_today(-1))
    on_time = await insert_requirement(superuser, grant_id, kind="final", due_on=today())

    before = await grants.get(requirement_url(grant_id, late), headers=parties.recipient.headers)
    late_report = await submit(grants, parties.recipient, grant_id, late, 1)
    timely_report = await submit(grants, parties.recipient, grant_id, on_time, 1)

    assert before.json()["status"] == "overdue"
    assert before.json()["submitted_late"] is False
    assert late_report.status_code == 200, late_report.text
    assert late_report.json()["status"] == "submitted"
    assert late_report.json()["submitted_late"] is True
    assert timely_report.json()["submitted_late"] is False


async def test_a_report_sent_back_after_its_date_is_overdue_and_may_be_submitted(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    requirement = await insert_requirement(
        superuser,
        grant_id,
        due_on=days_from_today(-10),
        status="revision_requested",
        version=3,
        submitted_at=datetime.now(UTC) - timedelta(days=12),
    )
    await insert_submission(
        superuser, grant_id, requirement, datetime.now(UTC) - timedelta(days=12)
    )

    shown = await grants.get(requirement_url(grant_id, requirement), headers=parties.viewer.headers)
    again = await submit(grants, parties.recipient, grant_id, requirement, 3)

    assert shown.json()["status"] == "overdue"
    # The first report came in time; sending the revision now does not make it late.
    assert shown.json()["submitted_late"] is False
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "submitted"
    assert again.json()["submitted_late"] is False


# The compliance dashboard


async def test_the_dashboard_lists_every_grant_of_the_organisation(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
) -> None:
    first_grant = await insert_grant(superuser, parties)
    second_grant = await insert_grant(superuser, parties, cofunded=Decimal("0.00"))
    overdue = await insert_requirement(superuser, first_grant, due_on=days_from_today(-5))
    due = await insert_requirement(superuser, first_grant, kind="final", due_on=days_from_today(40))
    accepted = await insert_requirement(
        superuser, second_grant, due_on=days_from_today(-100), status="accepted"
    )

    async def listed(who: Caller, **query: str) -> list[str]:
        response = await grants.get("/v1/reporting-requirements", params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    everything = [str(overdue), str(due), str(accepted)]
    assert await listed(parties.recipient) == everything
    assert await listed(parties.manager) == everything
    # The co-funder funds the first grant only.
    assert await listed(parties.cofunder) == [str(overdue), str(due)]
    assert await listed(parties.other_ngo) == []
    assert await listed(parties.other_donor) == []
    assert await listed(parties.recipient, status="overdue") == [str(overdue)]
    assert await listed(parties.recipient, status="due") == [str(due)]
    assert await listed(parties.recipient, status="accepted") == [str(accepted)]
    assert await listed(parties.recipient, due_before=days_from_today(0).isoformat()) == [
        str(overdue),
        str(accepted),
    ]
    assert await listed(parties.manager, grant_id=str(second_grant)) == [str(accepted)]
    # Naming another organisation's grant shows nothing of it.
    assert await listed(parties.other_ngo, grant_id=str(first_grant)) == []
    forbidden = await grants.get(
        "/v1/reporting-requirements", headers=parties.recipient_worker.headers
    )
    assert_problem(forbidden, 403, "forbidden")


async def test_the_dashboard_pages_with_a_cursor(
    grants: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
) -> None:
    ids = [str(await insert_requirement(superuser, grant_id)) for _ in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await grants.get(
            "/v1/reporting-requirements", params=query, headers=parties.manager.headers
        )
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


# Underneath


async def test_row_level_security_hides_reporting_from_other_organisations(
    grants: httpx.AsyncClient,
    runtime: asyncpg.Connection,
    parties: GrantParties,
    grant_id: uuid.UUID,
    requirement_id: uuid.UUID,
) -> None:
    submitted = await submit(grants, parties.recipient, grant_id, requirement_id, 1)
    assert submitted.status_code == 200, submitted.text

    async def visible(org_id: uuid.UUID) -> tuple[int, int]:
        await runtime.execute("SELECT set_config('baton.org_id', $1, false)", str(org_id))
        requirements = await runtime.fetchval(
            "SELECT count(*) FROM reporting_requirement WHERE grant_id = $1", grant_id
        )
        submissions = await runtime.fetchval(
            "SELECT count(*) FROM report_submission WHERE grant_id = $1", grant_id
        )
        return requirements, submissions

    assert await visible(parties.recipient.org_id) == (1, 1)
    assert await visible(parties.cofunder.org_id) == (1, 1)
    assert await visible(parties.other_ngo.org_id) == (0, 0)
    assert await visible(parties.other_donor.org_id) == (0, 0)


# The donor reports' helper


async def test_compliance_counts_each_requirement_by_the_status_it_shows(
    session: AsyncSession,
    superuser: asyncpg.Connection,
    parties: GrantParties,
) -> None:
    grant_id = await insert_grant(superuser, parties)
    other_grant = await insert_grant(superuser, parties)
    unrelated = await insert_grant(superuser, parties)
    day = date(2020, 6, 15)
    late_moment = datetime(2020, 6, 1, 9, tzinfo=UTC)
    early_moment = datetime(2020, 2, 1, 9, tzinfo=UTC)

    accepted_late = await insert_requirement(
        superuser, grant_id, due_on=date(2020, 5, 31), status="accepted", submitted_at=late_moment
    )
    await insert_submission(superuser, grant_id, accepted_late, late_moment)
    awaiting = await insert_requirement(
        superuser, grant_id, due_on=date(2020, 3, 1), status="submitted", submitted_at=early_moment
    )
    await insert_submission(superuser, grant_id, awaiting, early_moment)
    await insert_requirement(superuser, grant_id, kind="final", due_on=date(2020, 12, 31))
    await insert_requirement(superuser, other_grant, due_on=date(2020, 6, 14))
    await insert_requirement(
        superuser, other_grant, kind="final", due_on=date(2020, 6, 15), status="revision_requested"
    )
    await insert_requirement(
        superuser, other_grant, kind="other", due_on=date(2020, 1, 1), status="revision_requested"
    )
    await insert_requirement(superuser, unrelated, due_on=date(2020, 1, 1))
    await bind_tenant(session, parties.manager.org_id)

    result = await service.compliance(session, [grant_id, other_grant], day)

    assert (
        result.requirements,
        result.accepted,
        result.submitted,
        result.due,
        result.overdue,
        result.revision_requested,
        result.submitted_late,
    ) == (6, 1, 1, 1, 2, 1, 1)
    assert [(i.due_on, i.status) for i in result.items] == [
        (date(2020, 1, 1), "overdue"),
        (date(2020, 3, 1), "submitted"),
        (date(2020, 5, 31), "accepted"),
        (date(2020, 6, 14), "overdue"),
        (date(2020, 6, 15), "revision_requested"),
        (date(2020, 12, 31), "due"),
    ]
    assert [i.submitted_late for i in result.items] == [False, False, True, False, False, False]
    assert result.items[1].submitted_at == early_moment
    assert result.items[1].grant_id == grant_id
    assert result.items[1].kind == "interim"

    nothing = await service.compliance(session, [], day)
    assert nothing.requirements == 0
    assert nothing.items == []
