"""Each service's login reaches its own database only, and cannot change its schema."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import pytest

from baton.stack.databases import ServiceDatabase, asyncpg_url, external_database
from baton.stack.services import SERVICES


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _to_database(url: str, database: str) -> str:
    return urlsplit(_plain(url))._replace(path=f"/{database}").geturl()


@pytest.mark.parametrize("own", [spec.route for spec in SERVICES])
async def test_a_service_role_cannot_connect_to_any_other_database(
    service_databases: dict[str, ServiceDatabase], own: str
) -> None:
    for login in ("runtime_url", "migration_url"):
        url = getattr(service_databases[own], login)
        connection = await asyncpg.connect(_plain(url))
        await connection.close()
        others = [spec.route for spec in SERVICES if spec.route != own] + ["postgres", "template1"]
        for other in others:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await asyncpg.connect(_to_database(url, other))


async def test_the_runtime_role_reads_and_writes_but_cannot_change_the_schema(
    service_databases: dict[str, ServiceDatabase],
) -> None:
    owner = await asyncpg.connect(_plain(service_databases["cases"].migration_url))
    runtime = await asyncpg.connect(_plain(service_databases["cases"].runtime_url))
    try:
        await owner.execute("CREATE TABLE IF NOT EXISTS grant_probe (id serial PRIMARY KEY)")
        await runtime.execute("INSERT INTO grant_probe DEFAULT VALUES")
        assert await runtime.fetchval("SELECT count(*) FROM grant_probe") >= 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("CREATE TABLE intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("DROP TABLE grant_probe")
    finally:
        await owner.execute("DROP TABLE IF EXISTS grant_probe")
        await owner.close()
        await runtime.close()


def test_an_external_server_is_used_as_given() -> None:
    cases = next(spec for spec in SERVICES if spec.route == "cases")
    shared = external_database(cases, {"DATABASE_URL": "postgresql://baton:pw@db.internal:5432/x"})
    assert shared.runtime_url == "postgresql+asyncpg://baton:pw@db.internal:5432/cases"
    assert shared.migration_url == shared.runtime_url
    own = external_database(
        cases,
        {
            "DATABASE_URL": "postgresql://ignored@h/x",
            "CASES_DATABASE_URL": "postgresql://app:pw@h/casedb",
            "CASES_MIGRATION_DATABASE_URL": "postgresql://owner:pw@h/casedb",
        },
    )
    assert own.runtime_url == "postgresql+asyncpg://app:pw@h/casedb"
    assert own.migration_url == "postgresql+asyncpg://owner:pw@h/casedb"
    assert own.database == "casedb"


def test_driverless_urls_get_asyncpg() -> None:
    assert asyncpg_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert asyncpg_url("postgresql+asyncpg://u@h/d") == "postgresql+asyncpg://u@h/d"
