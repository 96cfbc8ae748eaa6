"""The table base of grants-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class GrantsTable(SQLModel, registry=new_registry()):
    """Base of every grants-api table; `GrantsTable.metadata` is what its migrations track."""


metadata = GrantsTable.metadata
