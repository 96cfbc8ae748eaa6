"""Case notes: encrypted, append-only, read only by readers of identities, every read audited."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from cases_factories import Caller, CallerFactory, identity, new_beneficiary, new_case
from family_factories import PLANTED_NOTE, PURPOSE, audit_actions, new_note, pg_dump


async def _case(cases: httpx.AsyncClient, caller: Caller) -> dict[str, Any]:
    beneficiary = await new_beneficiary(cases, caller, identity())
    case: dict[str, Any] = (await new_case(cases, caller, beneficiary["id"])).json()
    return case


def _notes(case_id: str) -> str:
    return f"/v1/cases/{case_id}/notes"


async def test_a_note_is_written_without_echoing_its_text(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    case = await _case(cases, worker)
    response = await cases.post(
        _notes(case["id"]),
        json={"category": "safety", "text": PLANTED_NOTE},
        headers=worker.headers,
    )
    assert response.status_code == 201, response.text
    note = response.json()
    assert set(note) == {"id", "case_id", "category", "author", "created_at"}
    assert note["case_id"] == case["id"]
    assert note["category"] == "safety"
    assert note["author"] == worker.subject
    assert "Durres" not in response.text
    default = await new_note(cases, worker, case["id"], text="Called back", category="general")
    assert default["category"] == "general"
    events = await audit_actions(cases, auditor, note["id"])
    assert [event["action"] for event in events] == ["note.create"]


async def test_notes_are_read_with_a_purpose_one_audit_event_per_note(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    reader = caller("ngo", ["case_manager"], org_id=worker.org_id)
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    case = await _case(cases, worker)
    written = [
        await new_note(cases, worker, case["id"], text=f"Note {n}: {PLANTED_NOTE}")
        for n in range(3)
    ]
    path = _notes(case["id"])

    no_purpose = await cases.get(path, headers=reader.headers)
    assert no_purpose.status_code == 422
    first = await cases.get(path, params={**PURPOSE, "limit": 2}, headers=reader.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["text"] for item in page["items"]] == [
        f"Note 0: {PLANTED_NOTE}",
        f"Note 1: {PLANTED_NOTE}",
    ]
    assert page["items"][0]["author"] == worker.subject
    assert page["next_cursor"] is not None
    # Only the notes returned were read: the third is not in the log yet.
    reads = [
        [e for e in await audit_actions(cases, auditor, note["id"]) if e["action"] == "note.read"]
        for note in written
    ]
    assert [len(events) for events in reads] == [1, 1, 0]
    assert all(events[0]["purpose"] == "case_management" for events in reads[:2])
    assert all(events[0]["actor"] == reader.subject for events in reads[:2])

    rest = await cases.get(
        path,
        params={"purpose": "safety", "limit": 2, "cursor": page["next_cursor"]},
        headers=reader.headers,
    )
    assert [item["id"] for item in rest.json()["items"]] == [written[2]["id"]]
    assert rest.json()["next_cursor"] is None

    one = await cases.get(f"{path}/{written[1]['id']}", params=PURPOSE, headers=worker.headers)
    assert one.status_code == 200
    assert one.json()["text"] == f"Note 1: {PLANTED_NOTE}"
    assert one.json()["beneficiary_id"] == case["beneficiary_id"]
    events = await audit_actions(cases, auditor, written[1]["id"])
    assert [event["action"] for event in events] == ["note.create", "note.read", "note.read"]
    third = await audit_actions(cases, auditor, written[2]["id"])
    assert [event["purpose"] for event in third] == [None, "safety"]


async def test_notes_are_filtered_by_category(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await _case(cases, worker)
    legal = await new_note(cases, worker, case["id"], text="Statement given", category="legal")
    await new_note(cases, worker, case["id"], text="Clinic visit", category="health")
    listed = await cases.get(
        _notes(case["id"]), params={**PURPOSE, "category": "legal"}, headers=worker.headers
    )
    assert [item["id"] for item in listed.json()["items"]] == [legal["id"]]


async def test_notes_are_append_only(cases: httpx.AsyncClient, caller: CallerFactory) -> None:
    worker = caller("ngo", ["case_manager"])
    case = await _case(cases, worker)
    note = await new_note(cases, worker, case["id"])
    path = f"{_notes(case['id'])}/{note['id']}"
    for method in ("PUT", "PATCH", "DELETE"):
        response = await cases.request(
            method, path, json={"text": "rewritten"}, headers=worker.headers
        )
        assert response.status_code == 405, method
    read = await cases.get(path, params=PURPOSE, headers=worker.headers)
    assert read.json()["text"] == PLANTED_NOTE


async def test_another_organisation_gets_nothing(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await _case(cases, owner)
    note = await new_note(cases, owner, case["id"])
    other = caller("ngo", ["case_manager"])
    attempts = [
        await cases.post(
            _notes(case["id"]), json={"text": "Planted elsewhere"}, headers=other.headers
        ),
        await cases.get(_notes(case["id"]), params=PURPOSE, headers=other.headers),
        await cases.get(
            f"{_notes(case['id'])}/{note['id']}", params=PURPOSE, headers=other.headers
        ),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    assert all("Durres" not in response.text for response in attempts)
    own = await _case(cases, other)
    across = await cases.get(
        f"{_notes(own['id'])}/{note['id']}", params=PURPOSE, headers=other.headers
    )
    assert across.status_code == 404
    assert across.json()["code"] == "note-not-found"
    listed = await cases.get(_notes(case["id"]), params=PURPOSE, headers=owner.headers)
    assert [item["id"] for item in listed.json()["items"]] == [note["id"]]


@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [
        ("donor", ["donor_viewer"]),
        ("donor", ["grant_manager"]),
        ("government", ["referrer"]),
        ("ngo", ["auditor"]),
        ("platform", ["auditor"]),
        ("platform", ["platform_admin"]),
    ],
)
async def test_roles_without_identity_access_cannot_read_or_write_notes(
    cases: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    owner = caller("ngo", ["caseworker"])
    case = await _case(cases, owner)
    note = await new_note(cases, owner, case["id"])
    outsider = caller(org_kind, roles, org_id=owner.org_id)
    attempts = [
        await cases.post(_notes(case["id"]), json={"text": "x"}, headers=outsider.headers),
        await cases.get(_notes(case["id"]), params=PURPOSE, headers=outsider.headers),
        await cases.get(
            f"{_notes(case['id'])}/{note['id']}", params=PURPOSE, headers=outsider.headers
        ),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert all("Durres" not in response.text for response in attempts)
    listed = await cases.get(_notes(case["id"]), params=PURPOSE, headers=owner.headers)
    assert len(listed.json()["items"]) == 1


async def test_erasure_makes_the_notes_unreadable(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    case = await _case(cases, manager)
    note = await new_note(cases, manager, case["id"])
    erased = await cases.delete(
        f"/v1/beneficiaries/{case['beneficiary_id']}/identity", headers=manager.headers
    )
    assert erased.status_code == 204
    attempts = [
        await cases.get(_notes(case["id"]), params=PURPOSE, headers=manager.headers),
        await cases.get(
            f"{_notes(case['id'])}/{note['id']}", params=PURPOSE, headers=manager.headers
        ),
        await cases.post(_notes(case["id"]), json={"text": "After"}, headers=manager.headers),
    ]
    assert [response.status_code for response in attempts] == [410] * len(attempts)
    assert all(response.json()["code"] == "identity-erased" for response in attempts)
    assert all("Durres" not in response.text for response in attempts)


async def test_a_note_moved_onto_another_does_not_decrypt(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await _case(cases, worker)
    secret = await new_note(cases, worker, case["id"])
    decoy = await new_note(cases, worker, case["id"], text="Nothing to report")
    await superuser.execute(
        "UPDATE case_note SET ciphertext = (SELECT ciphertext FROM case_note WHERE id = $1) "
        "WHERE id = $2",
        uuid.UUID(secret["id"]),
        uuid.UUID(decoy["id"]),
    )
    moved = await cases.get(
        f"{_notes(case['id'])}/{decoy['id']}", params=PURPOSE, headers=worker.headers
    )
    assert moved.status_code == 500
    assert moved.json()["code"] == "protected-data-integrity"
    assert "Durres" not in moved.text


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n "},
        {"text": "x" * 20_001},
        {"category": "gossip", "text": PLANTED_NOTE},
        {"text": PLANTED_NOTE, "author": "someone else"},
        {"category": "safety"},
    ],
)
async def test_bad_notes_are_refused_and_nothing_is_written(
    cases: httpx.AsyncClient, caller: CallerFactory, body: dict[str, Any]
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await _case(cases, worker)
    response = await cases.post(_notes(case["id"]), json=body, headers=worker.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "Durres" not in response.text
    listed = await cases.get(_notes(case["id"]), params=PURPOSE, headers=worker.headers)
    assert listed.json()["items"] == []


async def test_the_longest_note_is_kept_whole(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await _case(cases, worker)
    text = ("Ç" * 19_999) + "!"
    note = await new_note(cases, worker, case["id"], text=text)
    read = await cases.get(
        f"{_notes(case['id'])}/{note['id']}", params=PURPOSE, headers=worker.headers
    )
    assert read.json()["text"] == text


async def test_a_database_dump_holds_no_note_in_plain_text(
    cases: httpx.AsyncClient, caller: CallerFactory, postgres_admin_url: str
) -> None:
    worker = caller("ngo", ["caseworker"])
    case = await _case(cases, worker)
    note = await new_note(cases, worker, case["id"])
    dump = pg_dump(postgres_admin_url, "cases")
    assert note["id"] in dump  # the dump does hold the note's row
    for planted in (PLANTED_NOTE, "since the call from Durres"):
        assert planted.lower() not in dump.lower(), planted
