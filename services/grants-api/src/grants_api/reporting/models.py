"""Reporting requirements of a grant and the reports submitted against them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from grants_api.columns import grant_id_column, id_column, moment_column, now_column, text_column
from grants_api.db import GrantsTable


class ReportingRequirement(GrantsTable, table=True):
    __tablename__ = "reporting_requirement"

    id: uuid.UUID = id_column()
    grant_id: uuid.UUID = grant_id_column()
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # due, submitted, accepted, revision_requested (overdue is computed).
    status: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    submitted_at: datetime | None = moment_column()
    reviewed_at: datetime | None = moment_column()
    reviewed_by: str | None = text_column(200)
    review_comment: str | None = text_column(2000)
    created_at: datetime = now_column()


class ReportSubmission(GrantsTable, table=True):
    """One submission (the first, or one after a revision was asked for)."""

    __tablename__ = "report_submission"

    id: uuid.UUID = id_column()
    requirement_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("reporting_requirement.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    grant_id: uuid.UUID = grant_id_column()
    period_start: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    narrative: str = Field(sa_column=sa.Column(sa.String(20000), nullable=False))
    # Aggregate figures only ({"persons_assisted": 42, ...}), checked on the way in.
    figures: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(JSONB, nullable=False)
    )
    submitted_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    submitted_at: datetime = now_column()
