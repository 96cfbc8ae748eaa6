"""`baton.idempotency` on a real PostgreSQL: retries, failures, duplicates, expiry.

A tiny app of the test's own claims keys in a table of a scratch schema of the
cases database (created by the schema owner, dropped afterwards, so it never
shows in cases-api's `alembic check`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from baton import idempotency
from baton.app import create_service_app
from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.db import NAMING_CONVENTION, SessionDep
from baton.errors import Conflict, problem_responses
from baton.idempotency import IdempotencyKeyHeader
from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from baton.testing_issuer import TestIssuer
from kit_probe import KIT_INFO, kit_settings

SCHEMA = "kit_idempotency_probe"
metadata = sa.MetaData(schema=SCHEMA)
probe_keys = idempotency.idempotency_table(metadata)


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    size: int = 1


class ThingRead(BaseModel):
    id: uuid.UUID
    name: str
    size: int
    call: int


@dataclass
class Probe:
    """What the app did, and what the test wants it to do next."""

    calls: int = 0
    failures_left: int = 0
    # Set while the work runs; the work waits for `release` when one is given.
    working: asyncio.Event | None = None
    release: asyncio.Event | None = None


Caller = Annotated[Principal, Authorize(Permission.profile_read)]


def probe_router(probe: Probe) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post(
        "/things",
        status_code=201,
        response_model=ThingRead,
        responses=problem_responses(*idempotency.IDEMPOTENCY_ERRORS),
    )
    @router.post("/other-things", status_code=201, response_model=ThingRead)
    async def create_thing(
        thing: Thing,
        session: SessionDep,
        principal: Caller,
        key: IdempotencyKeyHeader,
        response: Response,
    ) -> ThingRead | Response:
        claim = await idempotency.claim(session, probe_keys, principal, key, thing)
        if claim.replay is not None:
            return claim.replay.response()
        probe.calls += 1
        if probe.failures_left:
            probe.failures_left -= 1
            raise Conflict("The work failed; nothing was kept.")
        if probe.working is not None:
            probe.working.set()
        if probe.release is not None:
            await asyncio.wait_for(probe.release.wait(), timeout=10)
        created = ThingRead(id=uuid.uuid4(), name=thing.name, size=thing.size, call=probe.calls)
        response.headers["ETag"] = '"1"'
        response.headers["Location"] = f"/v1/things/{created.id}"
        response.headers["X-Not-Stored"] = "1"
        await claim.remember(201, created, response.headers)
        return created

    return router


@pytest.fixture(scope="module")
async def owner_engine(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(service_databases["cases"].migration_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await connection.run_sync(metadata.create_all)
        await connection.execute(sa.text(f"GRANT USAGE ON SCHEMA {SCHEMA} TO cases_app"))
        await connection.execute(
            sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {probe_keys.fullname} TO cases_app")
        )
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        await engine.dispose()


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def client(
    service_databases: dict[str, ServiceDatabase],
    external_issuer: TestIssuer,
    owner_engine: AsyncEngine,  # noqa: ARG001 - the table must exist
    probe: Probe,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = kit_settings(
        service_databases["cases"].runtime_url,
        trusted_issuers=[external_issuer.trusted.model_dump(mode="json")],
    )
    app = create_service_app(KIT_INFO, settings, [probe_router(probe)])
    async with app_client(app) as client:
        yield client


def _signed_in(issuer: TestIssuer, org_id: uuid.UUID | None = None) -> dict[str, str]:
    claims = issuer.claims(org_id=org_id or uuid.uuid4(), org_kind="ngo", roles=["caseworker"])
    return {"Authorization": f"Bearer {issuer.sign(claims)}"}


def _with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def _stored(engine: AsyncEngine, key: str) -> list[sa.Row[Any]]:
    async with engine.connect() as connection:
        result = await connection.execute(sa.select(probe_keys).where(probe_keys.c.key == key))
        return list(result.all())


async def test_a_retry_gets_the_first_response_and_nothing_is_done_twice(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, owner_engine: AsyncEngine
) -> None:
    headers = _with_key(_signed_in(external_issuer), key := f"order-{uuid.uuid4()}")
    first = await client.post("/v1/things", json={"name": "bed", "size": 2}, headers=headers)
    # The same body, keys in another order and spaced differently.
    again = await client.post(
        "/v1/things",
        content=b'{ "size": 2,  "name": "bed" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert "x-not-stored" not in again.headers
    assert probe.calls == 1
    [row] = await _stored(owner_engine, key)
    assert row.status_code == 201
    assert row.endpoint == "POST /v1/things"
    assert row.response_headers == {"ETag": '"1"', "Location": first.headers["location"]}


async def test_the_same_key_with_another_request_is_refused(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe
) -> None:
    headers = _with_key(_signed_in(external_issuer), "reused-Ardita-Kovaci")
    assert (await client.post("/v1/things", json={"name": "bed"}, headers=headers)).is_success
    for path, body in (("/v1/things", {"name": "chair"}), ("/v1/other-things", {"name": "bed"})):
        refused = await client.post(path, json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "idempotency-key-reused"
        assert "Ardita" not in refused.text
        assert "chair" not in refused.text
    assert probe.calls == 1


async def test_without_a_key_every_request_is_done(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe
) -> None:
    headers = _signed_in(external_issuer)
    first = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    second = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert first.json()["id"] != second.json()["id"]
    assert probe.calls == 2


async def test_a_retry_after_a_failure_runs_again(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, owner_engine: AsyncEngine
) -> None:
    headers = _with_key(_signed_in(external_issuer), key := f"flaky-{uuid.uuid4()}")
    probe.failures_left = 1
    failed = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert failed.status_code == 409
    assert failed.json()["code"] == "conflict"
    assert await _stored(owner_engine, key) == []
    retried = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert probe.calls == 2


async def test_a_duplicate_while_the_first_runs_is_told_to_retry_and_then_replayed(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe
) -> None:
    headers = _with_key(_signed_in(external_issuer), f"twice-{uuid.uuid4()}")
    working, release = asyncio.Event(), asyncio.Event()
    probe.working, probe.release = working, release
    first = asyncio.create_task(client.post("/v1/things", json={"name": "bed"}, headers=headers))
    await asyncio.wait_for(working.wait(), timeout=10)

    duplicate = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["code"] == "idempotency-key-in-progress"
    assert duplicate.headers["retry-after"] == "1"
    # Another key of the same caller is not held up by this one.
    probe.working = probe.release = None
    other = await client.post(
        "/v1/things", json={"name": "bed"}, headers={**headers, "Idempotency-Key": "unrelated"}
    )
    assert other.status_code == 201, other.text

    release.set()
    done = await asyncio.wait_for(first, timeout=10)
    assert done.status_code == 201, done.text
    retried = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == done.json()
    assert probe.calls == 2  # the first and the unrelated key, never the duplicate


async def test_a_burst_of_duplicates_does_the_work_once(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe
) -> None:
    headers = _with_key(_signed_in(external_issuer), f"burst-{uuid.uuid4()}")
    answers = await asyncio.gather(
        *(client.post("/v1/things", json={"name": "bed"}, headers=headers) for _ in range(8))
    )
    created = [a for a in answers if a.status_code == 201]
    assert {a.status_code for a in answers} <= {201, 409}
    assert all(
        a.json()["code"] == "idempotency-key-in-progress" for a in answers if a.status_code == 409
    )
    assert len({a.json()["id"] for a in created}) == 1
    assert probe.calls == 1


async def test_keys_belong_to_one_caller(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe
) -> None:
    organisation = uuid.uuid4()
    first = await client.post(
        "/v1/things",
        json={"name": "bed"},
        headers=_with_key(_signed_in(external_issuer, organisation), "shared-key"),
    )
    # Another user of the same organisation, and a user of another: their own work.
    for headers in (
        _signed_in(external_issuer, organisation),
        _signed_in(external_issuer),
    ):
        other = await client.post(
            "/v1/things", json={"name": "bed"}, headers=_with_key(headers, "shared-key")
        )
        assert other.status_code == 201
        assert other.json()["id"] != first.json()["id"]
        assert "idempotent-replayed" not in other.headers
    assert probe.calls == 3


async def test_an_expired_key_counts_as_absent_and_is_purged(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, owner_engine: AsyncEngine
) -> None:
    headers = _with_key(_signed_in(external_issuer), key := f"old-{uuid.uuid4()}")
    fresh_key = f"fresh-{uuid.uuid4()}"
    first = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    await client.post(
        "/v1/things", json={"name": "bed"}, headers={**headers, "Idempotency-Key": fresh_key}
    )
    async with owner_engine.begin() as connection:
        await connection.execute(
            sa.update(probe_keys)
            .where(probe_keys.c.key == key)
            .values(created_at=sa.func.now() - timedelta(hours=25))
        )
    # Expired: the same key with another body is a new request, not a reuse.
    renewed = await client.post("/v1/things", json={"name": "cot"}, headers=headers)
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["id"] != first.json()["id"]
    assert probe.calls == 3
    [row] = await _stored(owner_engine, key)
    assert row.response_body["name"] == "cot"

    async with owner_engine.begin() as connection:
        await connection.execute(
            sa.update(probe_keys)
            .where(probe_keys.c.key == key)
            .values(created_at=sa.func.now() - timedelta(hours=2))
        )
        assert await idempotency.purge(connection, probe_keys, ttl=timedelta(hours=3)) == 0
        purged = await idempotency.purge(connection, probe_keys, ttl=timedelta(hours=1))
    assert purged >= 1
    assert await _stored(owner_engine, key) == []
    assert len(await _stored(owner_engine, fresh_key)) == 1


async def test_a_key_whose_request_never_answered_is_refused_not_replayed(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, owner_engine: AsyncEngine
) -> None:
    organisation = uuid.uuid4()
    claims = external_issuer.claims(org_id=organisation, org_kind="ngo", roles=["caseworker"])
    headers = {
        "Authorization": f"Bearer {external_issuer.sign(claims)}",
        "Idempotency-Key": "stuck",
    }
    async with owner_engine.begin() as connection:
        await connection.execute(
            sa.insert(probe_keys).values(
                organisation_id=organisation,
                subject=claims["sub"],
                key="stuck",
                endpoint="POST /v1/things",
                fingerprint=idempotency.fingerprint("POST /v1/things", Thing(name="bed")),
                created_at=sa.func.now(),
            )
        )
    response = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency-key-unanswered"
    assert "retry-after" not in response.headers
    assert probe.calls == 0


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9"])
async def test_a_malformed_key_is_refused(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, key: str
) -> None:
    headers = [
        (name.encode(), value.encode()) for name, value in _signed_in(external_issuer).items()
    ]
    headers.append((b"Idempotency-Key", key.encode("latin-1")))
    response = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "idempotency-key-invalid"
    assert probe.calls == 0


def test_the_table_is_keyed_by_caller_and_key() -> None:
    table = idempotency.idempotency_table(sa.MetaData(naming_convention=NAMING_CONVENTION))
    assert [column.name for column in table.primary_key.columns] == [
        "organisation_id",
        "subject",
        "key",
    ]
    assert table.c.status_code.nullable
    assert not table.c.fingerprint.nullable
    assert [index.name for index in table.indexes] == ["ix_idempotency_key_created_at"]


async def test_a_retry_of_a_finished_request_is_replayed_even_while_another_retry_runs(
    client: httpx.AsyncClient, external_issuer: TestIssuer, probe: Probe, owner_engine: AsyncEngine
) -> None:
    organisation = uuid.uuid4()
    claims = external_issuer.claims(org_id=organisation, org_kind="ngo", roles=["caseworker"])
    key = f"done-{uuid.uuid4()}"
    headers = {"Authorization": f"Bearer {external_issuer.sign(claims)}", "Idempotency-Key": key}
    first = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
    assert first.status_code == 201
    lock = idempotency.in_progress_lock(probe_keys.fullname, organisation, claims["sub"], key)
    async with owner_engine.connect() as holder:
        # Another retry of the same request, in its transaction, holds the key's lock.
        await holder.execute(
            sa.text("SELECT pg_advisory_lock(hashtextextended(:lock, 0))"), {"lock": lock}
        )
        try:
            again = await client.post("/v1/things", json={"name": "bed"}, headers=headers)
            other = await client.post("/v1/things", json={"name": "cot"}, headers=headers)
        finally:
            await holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency-key-reused"
    assert probe.calls == 1
