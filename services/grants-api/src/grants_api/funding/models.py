"""An NGO's funding mix: per year, amounts by source, cash or in kind.

The NGO keeps its own; a donor that funds the NGO (a grant to it) reads it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from grants_api.columns import MONEY, id_column, now_column, org_column, text_column
from grants_api.db import GrantsTable


class FundingYear(GrantsTable, table=True):
    """One NGO's year: replaced as a whole, guarded by its version (If-Match)."""

    __tablename__ = "funding_year"

    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    year: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    updated_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    updated_at: datetime = now_column()


class FundingEntry(GrantsTable, table=True):
    __tablename__ = "funding_entry"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["organisation_id", "year"],
            ["funding_year.organisation_id", "funding_year.year"],
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("organisation_id", "year", "source", "kind", "currency"),
    )

    id: uuid.UUID = id_column()
    organisation_id: uuid.UUID = org_column()
    year: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    amount: Decimal = Field(sa_column=sa.Column(MONEY, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    description: str | None = text_column(500)
