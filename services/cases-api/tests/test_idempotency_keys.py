"""`Idempotency-Key` on POST /v1/beneficiaries and POST /v1/cases: retries register once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from baton.testing import post_until_answered
from cases_factories import (
    PLANTED_BIRTH_DATE,
    PLANTED_DOCUMENT,
    PLANTED_FAMILY,
    PLANTED_PHONE,
    Caller,
    CallerFactory,
    beneficiary_body,
    identity,
    new_beneficiary,
)


def _keyed(caller: Caller, key: str) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key}


async def _beneficiaries_of(superuser: asyncpg.Connection, org_id: uuid.UUID) -> int:
    count: int = await superuser.fetchval(
        "SELECT count(*) FROM beneficiary WHERE organisation_id = $1", org_id
    )
    return count


async def _cases_of(superuser: asyncpg.Connection, org_id: uuid.UUID) -> int:
    count: int = await superuser.fetchval(
        "SELECT count(*) FROM case_file WHERE organisation_id = $1", org_id
    )
    return count


def _case_body(beneficiary_id: str, **fields: object) -> dict[str, object]:
    return {
        "beneficiary_id": beneficiary_id,
        "assistance_started_on": "2026-09-01",
        "exploitation_forms": ["labour"],
        **fields,
    }


async def test_a_retried_beneficiary_is_registered_once(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    headers = _keyed(worker, f"register-{uuid.uuid4()}")
    first = await cases.post("/v1/beneficiaries", json=beneficiary_body(), headers=headers)
    again = await cases.post("/v1/beneficiaries", json=beneficiary_body(), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] == '"1"'
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _beneficiaries_of(superuser, worker.org_id) == 1


async def test_the_same_key_with_another_beneficiary_is_refused(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    headers = _keyed(worker, f"register-{uuid.uuid4()}")
    first = await cases.post("/v1/beneficiaries", json=beneficiary_body(), headers=headers)
    assert first.status_code == 201
    other = beneficiary_body(identity(), sex="male")
    refused = await cases.post("/v1/beneficiaries", json=other, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "idempotency-key-reused"
    assert PLANTED_FAMILY not in refused.text
    assert await _beneficiaries_of(superuser, worker.org_id) == 1


async def test_without_a_key_each_post_registers(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    for _ in range(2):
        response = await cases.post(
            "/v1/beneficiaries", json=beneficiary_body(), headers=worker.headers
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await _beneficiaries_of(superuser, worker.org_id) == 2
    stored = await superuser.fetchval(
        "SELECT count(*) FROM idempotency_key WHERE organisation_id = $1", worker.org_id
    )
    assert stored == 0


async def test_concurrent_duplicates_register_one_beneficiary(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    headers = _keyed(worker, f"burst-{uuid.uuid4()}")
    body = beneficiary_body(identity(given=f"Burst{worker.org_id.hex[:8]}"))
    # Duplicates that arrive while the first runs are told to retry, then get its answer.
    responses = await asyncio.gather(
        *(
            post_until_answered(cases, "/v1/beneficiaries", json=body, headers=headers)
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    # The same document (a replay's keys may come in another order).
    assert all(r.json() == responses[0].json() for r in responses)
    assert len({r.headers["etag"] for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 4
    assert await _beneficiaries_of(superuser, worker.org_id) == 1


async def test_the_stored_response_holds_no_identity(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    key = f"with-identity-{uuid.uuid4()}"
    response = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(identity()), headers=_keyed(worker, key)
    )
    assert response.status_code == 201
    row = await superuser.fetchrow(
        "SELECT endpoint, status_code, response_body::text AS body, "
        "response_headers::text AS headers FROM idempotency_key "
        "WHERE organisation_id = $1 AND key = $2",
        worker.org_id,
        key,
    )
    assert row is not None
    assert row["endpoint"] == "POST /v1/beneficiaries"
    assert row["status_code"] == 201
    assert response.json()["id"] in row["body"]
    for planted in (PLANTED_FAMILY, "Mirela", PLANTED_PHONE, PLANTED_DOCUMENT, PLANTED_BIRTH_DATE):
        assert planted not in row["body"]
        assert planted not in row["headers"]


async def test_keys_are_per_caller(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    colleague = caller("ngo", ["caseworker"], org_id=worker.org_id)
    first = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(), headers=_keyed(worker, "intake-1")
    )
    second = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(), headers=_keyed(colleague, "intake-1")
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    assert await _beneficiaries_of(superuser, worker.org_id) == 2


async def test_a_retried_case_is_opened_once(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    headers = _keyed(worker, f"open-{uuid.uuid4()}")
    body = _case_body(beneficiary["id"])
    first = await cases.post("/v1/cases", json=body, headers=headers)
    again = await cases.post("/v1/cases", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"

    refused = await cases.post(
        "/v1/cases", json=_case_body(beneficiary["id"], risk_level="high"), headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency-key-reused"
    assert await _cases_of(superuser, worker.org_id) == 1


async def test_concurrent_duplicates_open_one_case(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    beneficiary = await new_beneficiary(cases, worker)
    headers = _keyed(worker, f"open-{uuid.uuid4()}")
    body = _case_body(beneficiary["id"])
    responses = await asyncio.gather(
        *(post_until_answered(cases, "/v1/cases", json=body, headers=headers) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _cases_of(superuser, worker.org_id) == 1


async def test_a_failed_request_keeps_no_key_and_its_retry_runs(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    key = f"too-early-{uuid.uuid4()}"
    # The beneficiary does not exist yet (another organisation's would not do either).
    missing = str(uuid.uuid4())
    failed = await cases.post("/v1/cases", json=_case_body(missing), headers=_keyed(worker, key))
    assert failed.status_code == 404
    stored = await superuser.fetchval(
        "SELECT count(*) FROM idempotency_key WHERE organisation_id = $1", worker.org_id
    )
    assert stored == 0
    retried = await cases.post("/v1/cases", json=_case_body(missing), headers=_keyed(worker, key))
    assert retried.status_code == 404
    assert retried.json()["code"] == "beneficiary-not-found"


async def test_a_malformed_key_is_refused_before_anything_is_done(
    cases: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    worker = caller("ngo", ["caseworker"])
    response = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(), headers=_keyed(worker, "k" * 256)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency-key-invalid"
    assert await _beneficiaries_of(superuser, worker.org_id) == 0


async def test_the_key_is_checked_after_the_permission(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    auditor = caller("ngo", ["auditor"])
    response = await cases.post(
        "/v1/beneficiaries", json=beneficiary_body(), headers=_keyed(auditor, "k" * 256)
    )
    assert response.status_code == 403


async def test_keys_are_stored_per_organisation_caller_and_key(
    runtime: asyncpg.Connection,
) -> None:
    primary_key = await runtime.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'idempotency_key'::regclass AND i.indisprimary"
    )
    assert {row["attname"] for row in primary_key} == {"organisation_id", "subject", "key"}
