"""The table base of grants-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class GrantsTable(SQLModel, registry=new_registry()):
    """Base of every grants-api table; `GrantsTable.metadata` is what its migrations track."""


def load_models() -> None:
    """Import every table module so the metadata is complete (migrations, checks)."""
    from grants_api.finances import models as _finances  # noqa: F401
    from grants_api.funding import models as _funding  # noqa: F401
    from grants_api.grants import models as _grants  # noqa: F401
    from grants_api.programmes import models as _programmes  # noqa: F401
    from grants_api.reporting import models as _reporting  # noqa: F401


metadata = GrantsTable.metadata
