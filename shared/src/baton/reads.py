"""Lean reads for the hottest paths: one organisation's row straight from the driver.

A read through the ORM session costs more CPU than everything else a request does
(`make bench` profiles it): checkout, BEGIN, binding the organisation, the query and
COMMIT are five round trips, each through SQLAlchemy's machinery. Here a read is one
round trip on the pooled asyncpg connection, and no ORM: one statement calling the
database function `tenant_row` (a migration of each service that reads this way),
which binds the organisation and reads the row. The binding is transaction-local and
the statement is its own transaction, so it ends with the statement. Row-level
security holds exactly as for the ORM (the function runs as its caller); the query
still names the organisation too, a wall of its own, but under baton.tenancy's
test-only switch.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends
from sqlalchemy import Table

from baton.auth import Principal
from baton.db import Database, get_database
from baton.tenancy import application_filter_on

# The database function (a migration of each service that reads this way creates it).
TENANT_ROW_FUNCTION_NAME = "tenant_row"


@cache
def _tenant_row_sql(table: Table) -> str:
    return f'SELECT * FROM {TENANT_ROW_FUNCTION_NAME}(NULL::"{table.name}", $1, $2, $3)'


async def read_owned(
    database: Database, model: type[Any], record_id: uuid.UUID, principal: Principal
) -> asyncpg.Record | None:
    """The row of `model` (a table under row-level security) with this id, if it is in
    the caller's organisation; None otherwise, exactly as when it does not exist."""
    if not isinstance(principal.org_id, uuid.UUID):
        raise TypeError("the organisation must be a uuid.UUID")
    async with database.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if not isinstance(driver, asyncpg.Connection):
            raise TypeError("lean reads need the asyncpg driver")
        row: asyncpg.Record | None = await driver.fetchrow(
            _tenant_row_sql(model.__table__),
            record_id,
            principal.org_id,
            application_filter_on(),
        )
        return row


# The service's database for a handler that reads with `read_owned`: a generator
# dependency would cost more than the read (FastAPI's exit stack and cancel shield).
DatabaseDep = Annotated[Database, Depends(get_database)]
