"""Restricted cases and break-glass: one case manager, one case, minutes long, all audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from cases_factories import Caller, CallerFactory, identity, new_beneficiary, new_case
from family_factories import PURPOSE, family_member_body, new_family_member, new_note

JUSTIFICATION = "Her safety plan must be checked tonight: her caseworker is unreachable."


@dataclass(frozen=True)
class Office:
    """One NGO: the case's caseworker, two managers, another caseworker, an auditor."""

    worker: Caller
    manager: Caller
    second_manager: Caller
    colleague: Caller
    auditor: Caller


@pytest.fixture
def office(caller: CallerFactory) -> Office:
    worker = caller("ngo", ["caseworker"])
    return Office(
        worker=worker,
        manager=caller("ngo", ["case_manager"], org_id=worker.org_id),
        second_manager=caller("ngo", ["case_manager"], org_id=worker.org_id),
        colleague=caller("ngo", ["caseworker"], org_id=worker.org_id),
        auditor=caller("ngo", ["auditor"], org_id=worker.org_id),
    )


async def _case(cases: httpx.AsyncClient, worker: Caller) -> dict[str, Any]:
    """A case assigned to `worker` (its opener), with an identity and one note."""
    beneficiary = await new_beneficiary(cases, worker, identity())
    case: dict[str, Any] = (await new_case(cases, worker, beneficiary["id"])).json()
    await new_note(cases, worker, case["id"])
    return case


async def _restrict(
    cases: httpx.AsyncClient, manager: Caller, case: dict[str, Any], reason: str | None
) -> dict[str, Any]:
    current = await cases.get(f"/v1/cases/{case['id']}", headers=manager.headers)
    response = await cases.post(
        f"/v1/cases/{case['id']}/restriction",
        json={"reason": reason},
        headers=manager.with_headers(if_match=current.headers["etag"]),
    )
    assert response.status_code == 200, response.text
    changed: dict[str, Any] = response.json()
    return changed


async def _protected_reads(
    cases: httpx.AsyncClient, reader: Caller, case: dict[str, Any]
) -> list[httpx.Response]:
    """Every read of what a restricted case protects: identity (twice) and notes (twice)."""
    beneficiary = f"/v1/beneficiaries/{case['beneficiary_id']}"
    notes = f"/v1/cases/{case['id']}/notes"
    listed = await cases.get(notes, params=PURPOSE, headers=reader.headers)
    note_id = listed.json()["items"][0]["id"] if listed.status_code == 200 else uuid.uuid4()
    return [
        await cases.get(f"{beneficiary}/identity", params=PURPOSE, headers=reader.headers),
        await cases.get(
            beneficiary, params={"include": "identity", **PURPOSE}, headers=reader.headers
        ),
        listed,
        await cases.get(f"{notes}/{note_id}", params=PURPOSE, headers=reader.headers),
    ]


def _problem(response: httpx.Response) -> dict[str, Any]:
    return {k: v for k, v in response.json().items() if k not in {"request_id", "instance"}}


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return [response.status_code for response in responses]


async def _open(
    cases: httpx.AsyncClient, manager: Caller, case_id: str, **body: Any
) -> httpx.Response:
    return await cases.post(
        f"/v1/cases/{case_id}/break-glass",
        json={"justification": JUSTIFICATION, **body},
        headers=manager.headers,
    )


async def _events(cases: httpx.AsyncClient, auditor: Caller, **filters: str) -> list[Any]:
    response = await cases.get("/v1/audit-events", params=filters, headers=auditor.headers)
    assert response.status_code == 200, response.text
    return [(e["action"], e["actor"], e["break_glass_id"]) for e in response.json()["items"]]


async def test_a_restricted_case_admits_only_its_caseworker(
    cases: httpx.AsyncClient, office: Office
) -> None:
    case = await _case(cases, office.worker)
    member = await new_family_member(cases, office.worker, case["beneficiary_id"])
    refused = await cases.post(
        f"/v1/cases/{case['id']}/restriction",
        json={"reason": "staff_relative"},
        headers=office.manager.with_headers(if_match='"9"'),
    )
    assert (refused.status_code, refused.json()["code"]) == (412, "precondition-failed")
    restricted = await _restrict(cases, office.manager, case, "staff_relative")
    assert restricted["restricted_reason"] == "staff_relative"
    assert restricted["restricted_by"] == office.manager.subject
    assert restricted["version"] == case["version"] + 1

    family = f"/v1/beneficiaries/{case['beneficiary_id']}/family-members/{member['id']}"
    for outsider in (office.manager, office.colleague):
        answers = await _protected_reads(cases, outsider, case)
        answers.append(
            await cases.get(
                family, params={"include": "identity", **PURPOSE}, headers=outsider.headers
            )
        )
        assert _statuses(answers) == [403] * 5
        assert {answer.json()["code"] for answer in answers} == {"case-restricted"}
        assert answers[0].headers["content-type"] == "application/problem+json"
        assert "break-glass" in answers[0].json()["detail"]
        # What does not identify the person stays readable.
        for path in (f"/v1/cases/{case['id']}", f"/v1/beneficiaries/{case['beneficiary_id']}"):
            assert (await cases.get(path, headers=outsider.headers)).status_code == 200
    assert _statuses(await _protected_reads(cases, office.worker, case)) == [200] * 4

    # The person's identity is restricted while any of their cases is: the colleague's
    # own, unrestricted case of the same person gives its notes, not the identity.
    second = (await new_case(cases, office.colleague, case["beneficiary_id"])).json()
    await new_note(cases, office.colleague, second["id"])
    assert _statuses(await _protected_reads(cases, office.colleague, second)) == [
        403,
        403,
        200,
        200,
    ]

    lifted = await _restrict(cases, office.manager, case, None)
    assert (lifted["restricted_reason"], lifted["restricted_by"]) == (None, None)
    assert _statuses(await _protected_reads(cases, office.manager, case)) == [200] * 4
    changes = await _events(cases, office.auditor, resource_id=case["id"])
    assert [(action, actor) for action, actor, _ in changes][1:] == [
        ("case.restrict", office.manager.subject),
        ("case.unrestrict", office.manager.subject),
    ]


async def test_break_glass_opens_one_case_for_its_holder_until_it_ends(
    cases: httpx.AsyncClient, office: Office, superuser: asyncpg.Connection
) -> None:
    case, other_case = await _case(cases, office.worker), await _case(cases, office.worker)
    for restricted in (case, other_case):
        await _restrict(cases, office.manager, restricted, "high_profile")

    opened = await _open(cases, office.manager, case["id"], duration_minutes=1)
    assert opened.status_code == 201, opened.text
    grant = opened.json()
    assert (grant["holder"], grant["state"], grant["justification"]) == (
        office.manager.subject,
        "open",
        None,
    )
    lasts = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["opened_at"])
    assert lasts.total_seconds() == 60
    again = await _open(cases, office.manager, case["id"])
    assert (again.status_code, again.json()["code"]) == (409, "break-glass-already-open")

    # That case, that caller: not the other restricted case, not the other manager.
    assert _statuses(await _protected_reads(cases, office.manager, case)) == [200] * 4
    assert _statuses(await _protected_reads(cases, office.manager, other_case)) == [403] * 4
    assert _statuses(await _protected_reads(cases, office.second_manager, case)) == [403] * 4

    # The auditor finds the opening flagged and every read made under the grant.
    under = await _events(cases, office.auditor, break_glass_id=grant["id"])
    assert [action for action, _, _ in under] == [
        "break_glass.open",
        "note.read",
        "identity.read",
        "identity.read",
        "note.read",
    ]
    assert {(actor, flag) for _, actor, flag in under} == {(office.manager.subject, grant["id"])}
    flagged = await _events(cases, office.auditor, break_glass="true", resource_id=case["id"])
    assert flagged == [("break_glass.open", office.manager.subject, grant["id"])]

    # Auditors see who and until when, never the justification; the holder sees it.
    grants = f"/v1/cases/{case['id']}/break-glass"
    reviewed = (await cases.get(grants, headers=office.auditor.headers)).json()["items"]
    assert [(g["id"], g["state"], g["justification"]) for g in reviewed] == [
        (grant["id"], "open", None)
    ]
    held = (await cases.get(grants, headers=office.manager.headers)).json()["items"]
    assert [g["justification"] for g in held] == [JUSTIFICATION]
    read_back = await _events(cases, office.auditor, action="break_glass.justification_read")
    assert ("break_glass.justification_read", office.manager.subject, grant["id"]) in read_back

    # The clock moves on: written as the owner, as if the minute had passed.
    await superuser.execute(
        "UPDATE break_glass_grant SET opened_at = now() - interval '2 minutes', "
        "expires_at = now() - interval '1 minute' WHERE id = $1",
        uuid.UUID(grant["id"]),
    )
    assert _statuses(await _protected_reads(cases, office.manager, case)) == [403] * 4
    ended = await cases.delete(f"{grants}/{grant['id']}", headers=office.manager.headers)
    assert (ended.status_code, ended.json()["code"]) == (409, "break-glass-ended")

    # A new grant, closed early by its holder alone.
    second = (await _open(cases, office.manager, case["id"])).json()
    assert second["state"] == "open"
    identity_path = f"/v1/beneficiaries/{case['beneficiary_id']}/identity"
    read = await cases.get(identity_path, params=PURPOSE, headers=office.manager.headers)
    assert read.status_code == 200, read.text
    stolen = await cases.delete(f"{grants}/{second['id']}", headers=office.second_manager.headers)
    assert (stolen.status_code, stolen.json()["code"]) == (403, "break-glass-not-held")
    closed = await cases.delete(f"{grants}/{second['id']}", headers=office.manager.headers)
    assert closed.status_code == 204, closed.text
    assert _statuses(await _protected_reads(cases, office.manager, case)) == [403] * 4
    states = (await cases.get(grants, headers=office.auditor.headers)).json()["items"]
    assert [(g["id"], g["state"]) for g in states] == [
        (grant["id"], "expired"),
        (second["id"], "closed"),
    ]
    assert [
        action for action, _, _ in await _events(cases, office.auditor, break_glass_id=second["id"])
    ] == ["break_glass.open", "identity.read", "break_glass.close"]


async def test_a_restricted_persons_identities_are_closed_to_writers_too(
    cases: httpx.AsyncClient, office: Office
) -> None:
    case = await _case(cases, office.worker)
    person = f"/v1/beneficiaries/{case['beneficiary_id']}"
    family = f"{person}/family-members"
    member = await new_family_member(cases, office.worker, case["beneficiary_id"])
    await _restrict(cases, office.manager, case, "staff_relative")

    def before() -> Any:
        return cases.get(f"{person}/identity", params=PURPOSE, headers=office.worker.headers)

    recorded = await before()
    member_now = await cases.get(f"{family}/{member['id']}", headers=office.worker.headers)

    def writes(writer: Caller) -> list[Any]:
        corrected = identity(given="Drita", family="Hoxha")
        return [
            cases.put(
                f"{person}/identity",
                json=corrected,
                headers=writer.with_headers(if_match=recorded.headers["etag"]),
            ),
            cases.post(family, json=family_member_body(), headers=writer.headers),
            cases.patch(
                f"{family}/{member['id']}",
                json={"identity": None},
                headers=writer.with_headers(if_match=member_now.headers["etag"]),
            ),
        ]

    refused = [await write for write in writes(office.colleague)]
    assert _statuses(refused) == [403] * 3, [r.text for r in refused]
    assert {answer.json()["code"] for answer in refused} == {"case-restricted"}
    unchanged = await before()
    assert (unchanged.json(), unchanged.headers["etag"]) == (
        recorded.json(),
        recorded.headers["etag"],
    )
    listed = await cases.get(family, headers=office.worker.headers)
    assert [m["id"] for m in listed.json()["items"]] == [member["id"]]
    assert listed.json()["items"][0]["has_identity"] is True
    # What identifies no one stays open to the organisation's caseworkers.
    plain = await cases.post(
        family, json=family_member_body(with_identity=False), headers=office.colleague.headers
    )
    assert plain.status_code == 201, plain.text

    # A manager under break-glass writes, and the log says under which grant.
    grant = (await _open(cases, office.manager, case["id"])).json()
    admitted = [await write for write in writes(office.manager)]
    assert _statuses(admitted) == [200, 201, 200], [r.text for r in admitted]
    under = await _events(cases, office.auditor, break_glass_id=grant["id"])
    assert [action for action, _, _ in under] == [
        "break_glass.open",
        "identity.write",
        "secondary.create",
        "secondary.update",
    ]


async def test_a_search_names_no_restricted_person_to_those_it_is_closed_to(
    cases: httpx.AsyncClient, office: Office
) -> None:
    case = await _case(cases, office.worker)
    person = case["beneficiary_id"]
    await _restrict(cases, office.manager, case, "high_profile")
    planted = identity()
    query = {name: planted[name] for name in ("given_names", "family_names", "date_of_birth")}

    async def search(caller: Caller) -> tuple[list[str], bool]:
        answer = await cases.post("/v1/beneficiaries/search", json=query, headers=caller.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["possible_duplicates"], answer.json()["restricted_match"]

    assert await search(office.worker) == ([person], False)
    # The id would link the name typed to the person's case records.
    assert await search(office.colleague) == ([], True)
    assert await search(office.manager) == ([], True)
    registered = await new_beneficiary(cases, office.colleague, identity())
    assert registered["duplicates"]["possible_duplicates"] == []
    assert registered["duplicates"]["restricted_match"] is True
    grant = (await _open(cases, office.manager, case["id"])).json()
    assert await search(office.manager) == (sorted([person, registered["id"]]), False)
    # Who looked for the restricted person is on record, whether or not they were told.
    looked = await _events(cases, office.auditor, action="identity.match", resource_id=person)
    assert [actor for _, actor, _ in looked] == [
        office.worker.subject,
        office.colleague.subject,
        office.manager.subject,
        office.manager.subject,
    ]
    assert grant["state"] == "open"


OUTSIDERS = (
    ("ngo", ["caseworker"]),
    ("ngo", ["auditor"]),
    ("donor", ["grant_manager"]),
    ("donor", ["case_manager"]),
    ("government", ["referrer"]),
    ("government", ["case_manager"]),
    ("platform", ["platform_admin"]),
)


async def test_break_glass_is_refused_to_every_role_but_case_managers(
    cases: httpx.AsyncClient, office: Office, caller: CallerFactory
) -> None:
    case = await _case(cases, office.worker)
    await _restrict(cases, office.manager, case, "insider_contact")
    for org_kind, roles in OUTSIDERS:
        outsider = caller(org_kind, roles, org_id=office.worker.org_id)
        attempt = await _open(cases, outsider, case["id"])
        assert attempt.status_code == 403, (roles, attempt.text)
        restricting = await cases.post(
            f"/v1/cases/{case['id']}/restriction",
            json={"reason": None},
            headers=outsider.with_headers(if_match='"2"'),
        )
        assert restricting.status_code == 403, roles
        listed = await cases.get(f"/v1/cases/{case['id']}/break-glass", headers=outsider.headers)
        assert listed.status_code == (200 if roles == ["auditor"] else 403), roles
    assert _statuses(await _protected_reads(cases, office.manager, case)) == [403] * 4


async def test_another_organisations_case_is_not_found_and_an_open_one_not_glassed(
    cases: httpx.AsyncClient, office: Office, caller: CallerFactory
) -> None:
    case = await _case(cases, office.worker)
    await _restrict(cases, office.manager, case, "other")
    elsewhere = caller("ngo", ["case_manager"])
    foreign = await _open(cases, elsewhere, case["id"])
    absent = await _open(cases, elsewhere, str(uuid.uuid4()))
    for answer in (foreign, absent):
        assert (answer.status_code, answer.json()["code"]) == (404, "case-not-found")
    # Nothing tells the two apart but the request's own id.
    assert [_problem(foreign), _problem(absent)] == [_problem(absent)] * 2
    listed = await cases.get(f"/v1/cases/{case['id']}/break-glass", headers=elsewhere.headers)
    assert listed.status_code == 404

    unrestricted = await _case(cases, office.worker)
    refused = await _open(cases, office.manager, unrestricted["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "case-not-restricted")


BAD_BODIES = (
    {"justification": "Too short to say."},
    {"justification": "x" * 2001},
    {"justification": " " * 30},
    {"duration_minutes": 0},
    {"duration_minutes": 241},
    {"duration_minutes": "an hour"},
    {"holder": "someone-else"},
)


async def test_a_bad_justification_or_duration_is_a_problem_and_opens_nothing(
    cases: httpx.AsyncClient, office: Office
) -> None:
    case = await _case(cases, office.worker)
    await _restrict(cases, office.manager, case, "high_profile")
    for body in BAD_BODIES:
        response = await _open(cases, office.manager, case["id"], **body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"], body
    listed = await cases.get(f"/v1/cases/{case['id']}/break-glass", headers=office.manager.headers)
    assert listed.json()["items"] == []
    longest = await _open(cases, office.manager, case["id"], duration_minutes=240)
    assert longest.status_code == 201, longest.text
