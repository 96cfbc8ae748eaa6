"""A programme: a funder's multi-country line of work, which grants belong to.

Visible to its funders and to the NGOs holding a grant in it (row-level security);
changed by its managing donor only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from grants_api.columns import countries_column, id_column, now_column, org_column, text_column
from grants_api.db import GrantsTable


class Programme(GrantsTable, table=True):
    __tablename__ = "programme"
    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="period_runs_forward"),
        sa.CheckConstraint(
            "managing_organisation_id = ANY(funder_organisation_ids)", name="manager_funds"
        ),
    )

    id: uuid.UUID = id_column()
    # The donor that runs it (its grant managers change it); every funder reads it.
    managing_organisation_id: uuid.UUID = org_column()
    funder_organisation_ids: list[uuid.UUID] = Field(
        sa_column=sa.Column(ARRAY(sa.Uuid), nullable=False)
    )
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    description: str | None = text_column(2000)
    countries: list[str] = countries_column()
    period_start: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = now_column()
    updated_at: datetime = now_column()
