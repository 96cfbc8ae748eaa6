"""The table base of identity-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class IdentityTable(SQLModel, registry=new_registry()):
    """Base of every identity-api table; `IdentityTable.metadata` is what migrations track."""


def load_models() -> None:
    """Import every table module so the metadata is complete (migrations, checks)."""
    from identity_api.clients import models as _clients  # noqa: F401
    from identity_api.organisations import models as _organisations  # noqa: F401


metadata = IdentityTable.metadata
