"""The audit log: append-only, each event hash-chained to the one before it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable


class AuditEvent(CasesTable, table=True):
    __tablename__ = "audit_event"

    # The chain order; gaps are impossible as events are appended under a lock.
    sequence: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    occurred_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    actor: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    actor_organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    # Whose record was touched: auditors of that organisation see the event.
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    resource_type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    resource_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    purpose: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    request_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))
    # The break-glass grant the act was made under (opening, closing, every read under it).
    break_glass_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, nullable=True, index=True)
    )
    previous_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False, unique=True))
