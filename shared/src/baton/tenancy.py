"""The organisation a database transaction acts for: the key of row-level security.

Services that hold victim data enable PostgreSQL row-level security on their tenant
tables with a policy comparing each row's `organisation_id` to the setting bound
here. The setting is transaction-local (`set_config(..., true)`), so a pooled
connection never carries one request's organisation into the next; a transaction
that bound nothing sees no rows at all.

Queries name the caller's organisation too (`in_callers_organisation`, `tenant_filter`):
a wall of the application's own. The test-only setting `test_row_level_security_alone`
takes that wall out, so that tests can prove row-level security holds by itself.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import ColumnElement, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from baton.auth import Principal, PrincipalDep
from baton.db import SessionDep
from baton.errors import BatonError

TENANT_SETTING = "baton.org_id"
RecordT = TypeVar("RecordT")

# The policy predicate migrations use; NULLIF makes an unbound setting match nothing.
TENANT_PREDICATE = f"organisation_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"


_application_filter_off: ContextVar[bool] = ContextVar(
    "baton_application_filter_off", default=False
)


def application_filter_on() -> bool:
    """Whether queries name the caller's organisation (always, but under the test switch)."""
    return not _application_filter_off.get()


def tenant_filter(predicate: ColumnElement[bool]) -> ColumnElement[bool]:
    """`predicate`, a condition on the caller's organisation that row-level security
    enforces as well; TRUE under the test-only switch. Never for a table without
    forced row-level security: there the predicate is the only wall.
    """
    return predicate if application_filter_on() else true()


def in_callers_organisation(column: Any, principal: Principal) -> ColumnElement[bool]:
    """`column = the caller's organisation`, for a table under row-level security."""
    return tenant_filter(column == principal.org_id)


class WithoutApplicationFilter:
    """ASGI middleware turning the application's organisation filters off per request.

    `create_service_app` installs it only when `test_row_level_security_alone` is set,
    which settings refuse outside the test environment. A context variable, not a
    global: apps with and without it can serve side by side in one test process.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _application_filter_off.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _application_filter_off.reset(token)


async def bind_tenant(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Make this transaction act for `org_id` (row-level security sees its rows only)."""
    await session.execute(
        text("SELECT set_config(:setting, :org_id, true)"),
        {"setting": TENANT_SETTING, "org_id": str(org_id)},
    )


def tenant_policy_sql(table: str) -> list[str]:
    """DDL enabling and forcing row-level security on `table`, keyed on the tenant setting."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
    ]


async def _tenant_session(session: SessionDep, principal: PrincipalDep) -> AsyncSession:
    await bind_tenant(session, principal.org_id)
    return session


# The request's session, bound to the caller's organisation (same session as SessionDep).
TenantSessionDep = Annotated[AsyncSession, Depends(_tenant_session)]


def definer_read_policy_sql(table: str) -> str:
    """A SELECT policy for the role running the migration (the schema owner).

    Forced row-level security binds the owner too; this lets SECURITY DEFINER
    functions it owns answer across organisations with aggregates or yes/no only.
    The runtime role, which must never be the owner, does not match it.
    """
    return (
        "DO $$ BEGIN EXECUTE format("
        f"'CREATE POLICY definer_read ON {table} FOR SELECT TO %I USING (true)', current_user"
        "); END $$"
    )


async def get_owned(
    session: AsyncSession,
    model: type[RecordT],
    principal: Principal,
    missing: BatonError,
    *,
    lock: bool = False,
    **match: Any,
) -> RecordT:
    """The record of `model` (a table under row-level security) with these column values
    in the caller's organisation.

    Another organisation's record raises `missing` exactly as an absent one does, so
    existence is not revealed. `lock` holds the row until the transaction ends, for
    updates checked against a version.
    """
    table: Any = model
    query = select(model).where(in_callers_organisation(table.organisation_id, principal))
    for name, value in match.items():
        query = query.where(getattr(table, name) == value)
    if lock:
        query = query.with_for_update()
    record = await session.scalar(query)
    if record is None:
        raise missing
    return record
