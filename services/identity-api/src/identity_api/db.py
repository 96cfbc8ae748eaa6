"""The table base of identity-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class IdentityTable(SQLModel, registry=new_registry()):
    """Base of every identity-api table; `IdentityTable.metadata` is what its migrations track."""


metadata = IdentityTable.metadata
