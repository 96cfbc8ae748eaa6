"""The table base of cases-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class CasesTable(SQLModel, registry=new_registry()):
    """Base of every cases-api table; `CasesTable.metadata` is what its migrations track."""


metadata = CasesTable.metadata
