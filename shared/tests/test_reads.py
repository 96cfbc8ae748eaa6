"""The lean read path (baton.reads) keeps every wall the ORM path keeps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from baton.db import Database
from baton.reads import select_by_id_sql, tenant_reader
from baton.stack.databases import ServiceDatabase
from baton.tenancy import TENANT_SETTING
from baton.testing import superuser_connection
from cases_api.beneficiaries.models import Beneficiary
from kit_probe import kit_settings

ORG_A, ORG_B = uuid.uuid4(), uuid.uuid4()
PERSON_A, PERSON_B = uuid.uuid4(), uuid.uuid4()
BENEFICIARY_BY_ID = select_by_id_sql(Beneficiary)


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
    settings = kit_settings(service_databases["cases"].runtime_url, database_pool_size=1)
    opened = Database(settings, application_name="reads-test")
    try:
        yield opened
    finally:
        await opened.dispose()
        async with superuser_connection(postgres_admin_url, "cases") as superuser:
            await superuser.execute(
                "DELETE FROM beneficiary WHERE id = ANY($1)", [PERSON_A, PERSON_B]
            )


async def test_row_level_security_holds_even_when_the_query_names_the_other_organisation(
    database: Database,
) -> None:
    async with tenant_reader(database, ORG_A) as reader:
        own = await reader.fetchrow(BENEFICIARY_BY_ID, PERSON_A, ORG_A)
        assert own is not None
        assert own["id"] == PERSON_A
        # The query alone would find B's person; the database does not show it to A.
        assert await reader.fetchrow(BENEFICIARY_BY_ID, PERSON_B, ORG_B) is None
        hidden = "SELECT count(*) FROM beneficiary WHERE id = $1"
        assert await reader.fetchval(hidden, PERSON_B) == 0


async def test_the_transaction_is_read_only(database: Database) -> None:
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with tenant_reader(database, ORG_A) as reader:
            await reader.execute("UPDATE beneficiary SET version = 2 WHERE id = $1", PERSON_A)


async def _leftover(database: Database) -> tuple[str | None, bool]:
    """What the pooled connection carries after a read: the setting, an open transaction."""
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, asyncpg.Connection)
        setting = await driver.fetchval("SELECT current_setting($1, true)", TENANT_SETTING)
        return setting or None, driver.is_in_transaction()


async def test_the_pooled_connection_carries_no_organisation_into_the_next_request(
    database: Database,
) -> None:
    async with tenant_reader(database, ORG_A) as reader:
        assert await reader.fetchval("SELECT current_setting($1)", TENANT_SETTING) == str(ORG_A)
    assert await _leftover(database) == (None, False)

    with pytest.raises(RuntimeError):
        async with tenant_reader(database, ORG_A):
            raise RuntimeError("the handler failed halfway")
    assert await _leftover(database) == (None, False)
    # The next organisation's read on that same connection sees its own rows only.
    async with tenant_reader(database, ORG_B) as reader:
        assert await reader.fetchrow(BENEFICIARY_BY_ID, PERSON_A, ORG_A) is None


async def test_the_organisation_must_be_a_uuid_never_text(database: Database) -> None:
    with pytest.raises(TypeError):
        async with tenant_reader(database, "'; SET ROLE postgres; --"):  # type: ignore[arg-type]
            pass
