"""The table base of referral-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class ReferralTable(SQLModel, registry=new_registry()):
    """Base of every referral-api table; `ReferralTable.metadata` is what its migrations track."""


metadata = ReferralTable.metadata
