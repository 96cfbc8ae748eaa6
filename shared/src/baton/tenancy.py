"""The organisation a database transaction acts for: the key of row-level security.

Services that hold victim data enable PostgreSQL row-level security on their tenant
tables with a policy comparing each row's `organisation_id` to the setting bound
here. The setting is transaction-local (`set_config(..., true)`), so a pooled
connection never carries one request's organisation into the next; a transaction
that bound nothing sees no rows at all.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from baton.auth import Principal, PrincipalDep
from baton.db import SessionDep
from baton.errors import BatonError

TENANT_SETTING = "baton.org_id"
RecordT = TypeVar("RecordT")

# The policy predicate migrations use; NULLIF makes an unbound setting match nothing.
TENANT_PREDICATE = f"organisation_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"


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
    """The record of `model` with these column values in the caller's organisation.

    Another organisation's record raises `missing` exactly as an absent one does, so
    existence is not revealed. `lock` holds the row until the transaction ends, for
    updates checked against a version.
    """
    table: Any = model
    query = select(model).where(table.organisation_id == principal.org_id)
    for name, value in match.items():
        query = query.where(getattr(table, name) == value)
    if lock:
        query = query.with_for_update()
    record = await session.scalar(query)
    if record is None:
        raise missing
    return record
