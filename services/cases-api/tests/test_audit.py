"""The audit log: every identity read and every write, append-only, hash-chained."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from baton.stack.databases import ServiceDatabase
from cases_factories import (
    PLANTED,
    PLANTED_FAMILY,
    CallerFactory,
    identity,
    new_beneficiary,
    new_case,
    run_command,
)

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
    # Each page read is an event too (`audit.read`): page over the creations alone.
    only: dict[str, str | int] = {"action": "beneficiary.create", "limit": 2}
    first = (await cases.get("/v1/audit-events", params=only, headers=auditor.headers)).json()
    assert len(first["items"]) == 2
    rest = (
        await cases.get(
            "/v1/audit-events",
            params={**only, "cursor": first["next_cursor"]},
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
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    runtime: asyncpg.Connection,
    superuser: asyncpg.Connection,
) -> None:
    await new_beneficiary(cases, caller("ngo", ["caseworker"]))
    before = await superuser.fetchval("SELECT count(*) FROM audit_event")
    for statement in ("UPDATE audit_event SET purpose = 'safety'", "DELETE FROM audit_event"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await runtime.execute(statement)
    # Nor can it empty the table, or switch off what guards it.
    for statement in (
        "TRUNCATE audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
        "SET session_replication_role = replica",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute(statement)
    assert await superuser.fetchval("SELECT count(*) FROM audit_event") == before


async def test_a_hundred_concurrent_reads_append_to_one_chain(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    service_databases: dict[str, ServiceDatabase],
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    path = f"/v1/beneficiaries/{beneficiary['id']}/identity"
    responses = await asyncio.gather(
        *(
            cases.get(
                path, params=PURPOSE, headers=worker.with_headers(x_request_id=f"concurrent-{n}")
            )
            for n in range(100)
        )
    )
    assert [response.status_code for response in responses] == [200] * 100
    logged = await superuser.fetch(
        "SELECT request_id FROM audit_event WHERE resource_id = $1 AND action = 'identity.read'",
        uuid.UUID(beneficiary["id"]),
    )
    assert sorted(row["request_id"] for row in logged) == sorted(
        f"concurrent-{n}" for n in range(100)
    )
    # One line: every sequence number once, each event chained to the one before.
    code, report = verify_audit(service_databases)
    assert (code, report["intact"]) == (0, True), report
    assert report["events_checked"] == await superuser.fetchval("SELECT count(*) FROM audit_event")


async def test_an_identity_read_that_cannot_be_audited_is_not_served(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker, identity())
    path = f"/v1/beneficiaries/{beneficiary['id']}"
    reads = [(f"{path}/identity", PURPOSE), (path, {"include": "identity", **PURPOSE})]
    # A real failure of the audit write, underneath the service.
    await superuser.execute(
        """
        CREATE FUNCTION audit_event_broken() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$
        """
    )
    await superuser.execute(
        "CREATE TRIGGER audit_event_broken BEFORE INSERT ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_broken()"
    )
    try:
        for reading, params in reads:
            response = await cases.get(reading, params=params, headers=worker.headers)
            assert response.status_code == 500, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "internal-error"
            assert not any(value in response.text for value in PLANTED)
    finally:
        await superuser.execute("DROP TRIGGER audit_event_broken ON audit_event")
        await superuser.execute("DROP FUNCTION audit_event_broken()")
    served = await cases.get(reads[0][0], params=PURPOSE, headers=worker.headers)
    assert served.json()["identity"]["family_names"] == PLANTED_FAMILY
    auditor = caller("ngo", ["auditor"], org_id=worker.org_id)
    events = await _events(cases, auditor.headers, beneficiary["id"])
    assert [event["action"] for event in events] == ["beneficiary.create", "identity.read"]


async def test_reading_the_audit_log_is_itself_audited(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    auditor = caller("ngo", ["auditor"])
    colleague = caller("ngo", ["auditor"], org_id=auditor.org_id)
    first = await cases.get(
        "/v1/audit-events", headers=auditor.with_headers(x_request_id="looked-at-the-log")
    )
    assert first.json()["items"] == []  # a page never holds its own read
    seen = await cases.get(
        "/v1/audit-events", params={"action": "audit.read"}, headers=colleague.headers
    )
    assert [
        (event["actor"], event["request_id"], event["resource_type"], event["resource_id"])
        for event in seen.json()["items"]
    ] == [(auditor.subject, "looked-at-the-log", "audit_log", str(auditor.org_id))]
    elsewhere = caller("ngo", ["auditor"])
    unseen = await cases.get(
        "/v1/audit-events", params={"action": "audit.read"}, headers=elsewhere.headers
    )
    assert unseen.json()["items"] == []


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
