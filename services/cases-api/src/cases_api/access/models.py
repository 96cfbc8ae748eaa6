"""Break-glass grants: one caller's emergency access to one restricted case, for minutes."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from cases_api.db import CasesTable


def _timestamp(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class BreakGlassGrant(CasesTable, table=True):
    """Open while `closed_at` is null and `expires_at` is after the database's `now()`."""

    __tablename__ = "break_glass_grant"
    __table_args__ = (
        sa.CheckConstraint("expires_at > opened_at", name="expires_after_opening"),
        sa.Index("ix_break_glass_grant_case_id_opened_at_id", "case_id", "opened_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    case_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("case_file.id"), nullable=False)
    )
    # `sub` of the case manager the grant was opened for: nobody else reads under it.
    holder: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # The justification may name the person: sealed with the beneficiary's data key.
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    duration_minutes: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    opened_at: datetime = Field(sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=_timestamp())
    closed_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
