"""Lean reads for the hottest paths: one organisation's rows straight from the driver.

A read through the ORM session costs more CPU than everything else a request does
(`make bench` profiles it): checkout, BEGIN, binding the organisation, the query and
COMMIT are five round trips, each through SQLAlchemy's machinery. Here a read is
three round trips on the pooled asyncpg connection, and no ORM: one to open a
read-only transaction already bound to the organisation, the (prepared, cached)
query, and COMMIT. Row-level security holds exactly as for the ORM; the queries
still name the organisation too, a wall of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from baton.auth import Principal
from baton.db import Database, get_database
from baton.tenancy import TENANT_SETTING, application_filter_on


def select_by_id_sql(model: type[Any], *, by_organisation: bool = True) -> str:
    """`SELECT <every column> FROM <model's table> WHERE id = $1 AND organisation_id = $2`
    (without the organisation, `$2`, when not `by_organisation`)."""
    return _select_by_id(model.__table__, by_organisation)


@cache
def _select_by_id(table: Table, by_organisation: bool) -> str:
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    query = f'SELECT {columns} FROM "{table.name}" WHERE id = $1'
    return f"{query} AND organisation_id = $2" if by_organisation else query


async def fetch_by_id(
    reader: asyncpg.Connection, model: type[Any], record_id: uuid.UUID, principal: Principal
) -> asyncpg.Record | None:
    """The row of `model` (a table under row-level security) with this id in the caller's
    organisation; the organisation is left out of the SQL under baton.tenancy's test switch."""
    if application_filter_on():
        return await reader.fetchrow(select_by_id_sql(model), record_id, principal.org_id)
    return await reader.fetchrow(select_by_id_sql(model, by_organisation=False), record_id)


async def _end(connection: AsyncConnection, driver: asyncpg.Connection, command: str) -> None:
    try:
        await driver.execute(command)
    except BaseException:
        # Never pool a connection whose transaction (and organisation) may still be open.
        await connection.invalidate()
        raise


@asynccontextmanager
async def tenant_reader(database: Database, org_id: uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
    """A driver connection in a read-only transaction acting for `org_id`."""
    if not isinstance(org_id, uuid.UUID):
        raise TypeError("the organisation must be a uuid.UUID")  # never text to inline
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if not isinstance(driver, asyncpg.Connection):
            raise TypeError("lean reads need the asyncpg driver")
        # One round trip (simple protocol, two statements); the id is a UUID's own
        # canonical text, so inlining it cannot inject anything.
        await driver.execute(
            f"BEGIN READ ONLY; SELECT set_config('{TENANT_SETTING}', '{org_id}', true)"
        )
        try:
            yield driver
        except BaseException:
            await _end(connection, driver, "ROLLBACK")
            raise
        await _end(connection, driver, "COMMIT")


# The service's database for a handler that opens `tenant_reader` itself: a generator
# dependency would cost more than the read (FastAPI's exit stack and cancel shield).
DatabaseDep = Annotated[Database, Depends(get_database)]
