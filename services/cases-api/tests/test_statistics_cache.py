"""Counts are reused only while the data they counted is unchanged (cases_0011)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton.db import utcnow
from baton.testing import app_client
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_factories import Caller, CallerFactory
from family_factories import new_family_member
from plans_factories import new_service, open_case

COUNTS = "baton_statistics_counts_total"
PERSONS = 5  # the suppression threshold: fewer would publish no count to compare
COUNTED_TABLES = ("beneficiary", "case_file", "case_service", "secondary_beneficiary")


@dataclass(frozen=True)
class Organisation:
    caseworker: Caller
    manager: Caller


@pytest.fixture
async def organisation(cases: httpx.AsyncClient, caller: CallerFactory) -> Organisation:
    """A new NGO with five open cases, one with a service and a family member."""
    org_id = uuid.uuid4()
    caseworker = caller("ngo", ["caseworker"], org_id=org_id)
    opened = [await open_case(cases, caseworker) for _ in range(PERSONS)]
    await new_service(cases, caseworker, opened[0]["id"])
    await new_family_member(cases, caseworker, opened[0]["beneficiary_id"])
    return Organisation(caseworker, caller("ngo", ["case_manager"], org_id=org_id))


async def _persons(cases: httpx.AsyncClient, reader: Caller, dimension: str = "sex") -> Any:
    today = utcnow().date()
    response = await cases.get(
        "/v1/statistics",
        params={
            "dimension": dimension,
            "period_start": (today - timedelta(days=730)).isoformat(),
            "period_end": today.isoformat(),
        },
        headers=reader.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _counted(cases: httpx.AsyncClient) -> dict[str, float]:
    """How many counts of persons were counted afresh and how many reused so far."""
    response = await cases.get("/metrics")
    assert response.status_code == 200
    found = {"counted": 0.0, "reused": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == COUNTS and sample.labels["function"] == "case_statistics":
                found[sample.labels["result"]] = sample.value
    return found


async def test_counts_are_reused_until_the_organisations_data_changes(
    cases: httpx.AsyncClient, caller: CallerFactory, organisation: Organisation
) -> None:
    first = await _persons(cases, organisation.manager)
    assert first["persons"] == PERSONS
    assert await _counted(cases) == {"counted": 2, "reused": 0}  # the table and its total

    assert await _persons(cases, organisation.manager) == first
    assert await _counted(cases) == {"counted": 2, "reused": 2}

    # Another organisation's writes leave these counts current.
    await open_case(cases, caller("ngo", ["caseworker"], org_id=uuid.uuid4()))
    assert await _persons(cases, organisation.manager) == first
    assert await _counted(cases) == {"counted": 2, "reused": 4}

    # One more person of this organisation: reusing the counts would say five.
    await open_case(cases, organisation.caseworker)
    after = await _persons(cases, organisation.manager)
    assert after["persons"] == PERSONS + 1
    assert await _counted(cases) == {"counted": 4, "reused": 4}


@pytest.mark.parametrize("table", COUNTED_TABLES)
async def test_any_write_to_a_counted_table_makes_the_counts_be_counted_again(
    cases: httpx.AsyncClient,
    superuser: asyncpg.Connection,
    organisation: Organisation,
    table: str,
) -> None:
    await _persons(cases, organisation.manager)
    before = await _counted(cases)
    # A write that changes nothing a count reads still marks the data as changed,
    # whoever writes it (here not even the service).
    updated = await superuser.execute(
        f"UPDATE {table} SET organisation_id = organisation_id WHERE organisation_id = $1",
        organisation.manager.org_id,
    )
    assert updated != "UPDATE 0"
    await _persons(cases, organisation.manager)
    assert await _counted(cases) == {"counted": before["counted"] + 2, "reused": before["reused"]}


async def test_a_deletion_makes_the_counts_be_counted_again(
    cases: httpx.AsyncClient, superuser: asyncpg.Connection, organisation: Organisation
) -> None:
    await _persons(cases, organisation.manager, "service_type")
    before = await _counted(cases)
    deleted = await superuser.execute(
        "DELETE FROM case_service WHERE organisation_id = $1", organisation.manager.org_id
    )
    assert deleted == "DELETE 1"
    await _persons(cases, organisation.manager, "service_type")
    assert await _counted(cases) == {"counted": before["counted"] + 2, "reused": before["reused"]}


async def test_requests_asking_at_once_share_one_count(
    cases: httpx.AsyncClient, organisation: Organisation
) -> None:
    tables = await asyncio.gather(*(_persons(cases, organisation.manager) for _ in range(12)))
    assert all(table == tables[0] for table in tables)
    assert await _counted(cases) == {"counted": 2, "reused": 22}


@pytest.fixture
async def uncached(cases_settings: CasesSettings) -> AsyncIterator[httpx.AsyncClient]:
    settings = cases_settings.model_copy(update={"statistics_cache_entries": 0})
    async with app_client(create_app(settings)) as client:
        yield client


async def test_with_no_cache_every_request_counts(
    uncached: httpx.AsyncClient, organisation: Organisation
) -> None:
    for _ in range(3):
        assert (await _persons(uncached, organisation.manager))["persons"] == PERSONS
    assert await _counted(uncached) == {"counted": 6, "reused": 0}


async def test_the_runtime_role_can_neither_read_nor_forge_versions(
    runtime: asyncpg.Connection, superuser: asyncpg.Connection, organisation: Organisation
) -> None:
    org_id = organisation.manager.org_id
    version = await runtime.fetchval("SELECT statistics_version_of($1::uuid[])", [org_id])
    assert version > 0
    held = "SELECT count(*) FROM statistics_version WHERE organisation_id = $1"
    assert await superuser.fetchval(held, org_id) > 0
    async with runtime.transaction():
        # Bound to the organisation itself, as the service's own writes are.
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(org_id))
        assert await runtime.fetchval(held, org_id) == 0
        forged = "UPDATE statistics_version SET version = 0 WHERE organisation_id = $1"
        assert await runtime.execute(forged, org_id) == "UPDATE 0"
        assert await runtime.execute(held.replace("SELECT count(*)", "DELETE"), org_id) == (
            "DELETE 0"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("INSERT INTO statistics_version VALUES ($1, 99, 1)", org_id)
    assert await runtime.fetchval("SELECT statistics_version_of($1::uuid[])", [org_id]) == version
