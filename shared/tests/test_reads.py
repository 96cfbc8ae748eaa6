"""The lean read path (baton.reads) keeps every wall the ORM path keeps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from baton.auth import OrgKind, Principal
from baton.db import Database
from baton.reads import read_owned
from baton.stack.databases import ServiceDatabase
from baton.tenancy import TENANT_SETTING
from baton.testing import superuser_connection
from cases_api.beneficiaries.models import Beneficiary
from cases_api.cases.models import Case
from kit_probe import kit_settings

ORG_A, ORG_B = uuid.uuid4(), uuid.uuid4()
PERSON_A, PERSON_B = uuid.uuid4(), uuid.uuid4()
CASE_A, CASE_B = uuid.uuid4(), uuid.uuid4()
# tenant_row reads case_file with a statement planned once per connection
# (cases_0012) and other tables with one built per call: both must keep every wall.
TABLES = pytest.mark.parametrize(
    ("model", "row_a", "row_b"),
    [(Beneficiary, PERSON_A, PERSON_B), (Case, CASE_A, CASE_B)],
    ids=["built-per-call", "planned-once"],
)


@pytest.fixture
async def database(
    service_databases: dict[str, ServiceDatabase], postgres_admin_url: str
) -> AsyncIterator[Database]:
    """cases-api's database with one person in each of two organisations; a pool of one
    connection, so every read below reuses the connection the previous one returned."""
    async with superuser_connection(postgres_admin_url, "cases") as superuser:
        for person, org in ((PERSON_A, ORG_A), (PERSON_B, ORG_B)):
            await superuser.execute(
                "INSERT INTO beneficiary (id, organisation_id, sex, is_child, "
                "countries_of_origin, countries_of_exploitation, languages, version, "
                "created_at, updated_at) VALUES ($1, $2, 'female', false, '{}', '{}', '{}', "
                "1, now(), now())",
                person,
                org,
            )
        for case, person, org in ((CASE_A, PERSON_A, ORG_A), (CASE_B, PERSON_B, ORG_B)):
            await superuser.execute(
                "INSERT INTO case_file (id, organisation_id, beneficiary_id, status, "
                "assistance_started_on, exploitation_forms, identification_stage, risk_level, "
                "version, created_at, updated_at) VALUES ($1, $2, $3, 'open', current_date, "
                "'{}', 'presumed', 'medium', 1, now(), now())",
                case,
                org,
                person,
            )
    settings = kit_settings(service_databases["cases"].runtime_url, database_pool_size=1)
    opened = Database(settings, application_name="reads-test")
    try:
        yield opened
    finally:
        await opened.dispose()
        async with superuser_connection(postgres_admin_url, "cases") as superuser:
            await superuser.execute("DELETE FROM case_file WHERE id = ANY($1)", [CASE_A, CASE_B])
            await superuser.execute(
                "DELETE FROM beneficiary WHERE id = ANY($1)", [PERSON_A, PERSON_B]
            )


def _caller(org_id: uuid.UUID) -> Principal:
    return Principal(
        subject="reader",
        org_id=org_id,
        org_kind=OrgKind.ngo,
        roles=frozenset({"caseworker"}),
        scopes=frozenset(),
        issuer="test",
        expires_at=0,
    )


@TABLES
async def test_a_caller_reads_its_own_row_and_never_another_organisations(
    database: Database, model: type[Any], row_a: uuid.UUID, row_b: uuid.UUID
) -> None:
    own = await read_owned(database, model, row_a, _caller(ORG_A))
    assert own is not None
    assert own["id"] == row_a
    assert await read_owned(database, model, row_b, _caller(ORG_A)) is None


@TABLES
async def test_row_level_security_holds_even_when_the_query_names_no_organisation(
    database: Database, model: type[Any], row_a: uuid.UUID, row_b: uuid.UUID
) -> None:
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, asyncpg.Connection)
        # What the test-only switch makes of the query: the id alone would find B's row.
        unfiltered = f"SELECT * FROM tenant_row(NULL::{model.__tablename__}, $1, $2, false)"
        # Past PostgreSQL's first five plans, when a kept statement may get a generic
        # one: the organisation bound at each call must still decide every answer.
        for _ in range(12):
            own = await driver.fetchrow(unfiltered, row_a, ORG_A)
            assert own is not None
            assert own["id"] == row_a
            assert await driver.fetchrow(unfiltered, row_b, ORG_A) is None
        found = await driver.fetchrow(unfiltered, row_b, ORG_B)
        assert found is not None
        assert found["id"] == row_b
        assert await driver.fetchrow(unfiltered, row_a, ORG_B) is None


async def _leftover(database: Database) -> tuple[str | None, bool]:
    """What the pooled connection carries after a read: the setting, an open transaction."""
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, asyncpg.Connection)
        setting = await driver.fetchval("SELECT current_setting($1, true)", TENANT_SETTING)
        return setting or None, driver.is_in_transaction()


@TABLES
async def test_the_pooled_connection_carries_no_organisation_into_the_next_request(
    database: Database, model: type[Any], row_a: uuid.UUID, row_b: uuid.UUID
) -> None:
    assert await read_owned(database, model, row_a, _caller(ORG_A)) is not None
    assert await _leftover(database) == (None, False)
    # A read that finds nothing leaves nothing behind either.
    assert await read_owned(database, model, uuid.uuid4(), _caller(ORG_A)) is None
    assert await _leftover(database) == (None, False)
    # The next organisation's read on that same connection sees its own rows only.
    assert await read_owned(database, model, row_a, _caller(ORG_B)) is None
    assert await read_owned(database, model, row_b, _caller(ORG_B)) is not None


async def test_the_organisation_must_be_a_uuid_never_text(database: Database) -> None:
    forged = replace(_caller(ORG_A), org_id="'; SET ROLE postgres; --")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await read_owned(database, Beneficiary, PERSON_A, forged)
