"""The audit log: every identity read and every write, append-only, hash-chained."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.stack.databases import ServiceDatabase
from cases_factories import CallerFactory, identity, new_beneficiary, new_case, run_command

PURPOSE = {"purpose": "legal_assistance"}


def verify_audit(service_databases: dict[str, ServiceDatabase]) -> tuple[int, dict[str, Any]]:
    """Run `python -m cases_api verify-audit` as an operator would."""
    return run_command(
        ["verify-audit"], {"CASES_DATABASE_URL": service_databases["cases"].runtime_url}
    )


async def _events(
    cases: httpx.AsyncClient, auditor_headers: dict[str, str], resource: str
) -> list[dict[str, object]]:
    response = await cases.get(
        "/v1/audit-events", params={"resource_id": resource}, headers=auditor_headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_every_identity_read_and_write_is_in_the_audit_log(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    beneficiary = await new_beneficiary(cases, worker, identity())
    path = f"/v1/beneficiaries/{beneficiary['id']}"
    await cases.get(
        f"{path}/identity", params=PURPOSE, headers=worker.with_headers(x_request_id="read-one")
    )
    await cases.get(
        path,
        params={"include": "identity", **PURPOSE},
        headers=worker.with_headers(x_request_id="read-two"),
    )
    await cases.get(path, headers=worker.headers)  # attributes only: not an identity read
    case = (await new_case(cases, worker, beneficiary["id"])).json()

    events = await _events(cases, auditor.headers, beneficiary["id"])
    assert [event["action"] for event in events] == [
        "beneficiary.create",
        "identity.read",
        "identity.read",
    ]
    reads = [event for event in events if event["action"] == "identity.read"]
    assert [event["request_id"] for event in reads] == ["read-one", "read-two"]
    assert all(event["purpose"] == "legal_assistance" for event in reads)
    assert all(event["actor"] == worker.subject for event in events)
    case_events = await _events(cases, auditor.headers, case["id"])
    assert [event["action"] for event in case_events] == ["case.create"]


async def test_auditors_see_their_organisation_only_and_caseworkers_not_at_all(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    own = caller("ngo", ["auditor"], org_id=worker.org_id)
    other = caller("ngo", ["auditor"])
    platform = caller("platform", ["auditor"])
    assert len(await _events(cases, own.headers, beneficiary["id"])) == 1
    assert await _events(cases, other.headers, beneficiary["id"]) == []
    assert len(await _events(cases, platform.headers, beneficiary["id"])) == 1
    refused = await cases.get("/v1/audit-events", headers=worker.headers)
    assert refused.status_code == 403


async def test_the_log_pages_with_an_opaque_cursor(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    worker = caller("ngo", ["caseworker"])
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    for _ in range(3):
        await new_beneficiary(cases, worker)
    first = (
        await cases.get("/v1/audit-events", params={"limit": 2}, headers=auditor.headers)
    ).json()
    assert len(first["items"]) == 2
    rest = (
        await cases.get(
            "/v1/audit-events",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=auditor.headers,
        )
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    sequences = [item["sequence"] for item in first["items"] + rest["items"]]
    assert sequences == sorted(sequences)
    bad = await cases.get("/v1/audit-events", params={"cursor": "zz"}, headers=auditor.headers)
    assert bad.status_code == 400


async def test_the_runtime_role_cannot_change_or_delete_an_event(
    cases: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    await new_beneficiary(cases, caller("ngo", ["caseworker"]))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await runtime.execute("UPDATE audit_event SET purpose = 'safety'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await runtime.execute("DELETE FROM audit_event")


async def test_the_verify_command_finds_the_first_tampered_event(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    await cases.get(
        f"/v1/beneficiaries/{beneficiary['id']}/identity", params=PURPOSE, headers=worker.headers
    )
    code, report = verify_audit(service_databases)
    assert (code, report["intact"]) == (0, True)
    total = report["events_checked"]
    assert isinstance(total, int)
    assert total >= 2

    target = await superuser.fetchrow(
        "SELECT sequence, actor FROM audit_event "
        "WHERE resource_id = $1 AND action = 'identity.read'",
        uuid.UUID(beneficiary["id"]),
    )
    assert target is not None
    # An insider with superuser rights hides who read the identity (triggers off).
    await superuser.execute("SET session_replication_role = replica")
    try:
        await superuser.execute(
            "UPDATE audit_event SET actor = 'someone-else' WHERE sequence = $1", target["sequence"]
        )
        code, report = verify_audit(service_databases)
        assert code == 1
        assert report["first_broken_sequence"] == target["sequence"]
        assert report["reason"] == "event altered"
    finally:
        await superuser.execute(
            "UPDATE audit_event SET actor = $1 WHERE sequence = $2",
            target["actor"],
            target["sequence"],
        )
        await superuser.execute("SET session_replication_role = origin")
    assert verify_audit(service_databases)[0] == 0


async def test_a_removed_event_is_found_too(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    worker = caller("ngo", ["caseworker"])
    first = await new_beneficiary(cases, worker)
    await new_beneficiary(cases, worker)  # so the removed event is not the last
    row = await superuser.fetchrow(
        "SELECT * FROM audit_event WHERE resource_id = $1", uuid.UUID(first["id"])
    )
    assert row is not None
    await superuser.execute("SET session_replication_role = replica")
    try:
        await superuser.execute("DELETE FROM audit_event WHERE sequence = $1", row["sequence"])
        code, report = verify_audit(service_databases)
        assert (code, report["first_broken_sequence"]) == (1, row["sequence"])
        assert report["reason"] == "missing event"
    finally:
        columns = list(row.keys())
        placeholders = ", ".join(f"${index + 1}" for index in range(len(columns)))
        await superuser.execute(
            f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({placeholders})",
            *row.values(),
        )
        await superuser.execute("SET session_replication_role = origin")
    assert verify_audit(service_databases)[0] == 0
