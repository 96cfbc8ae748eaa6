"""Organisations: the tenants of Baton (NGOs, government agencies, donors, the platform)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field

from baton.auth import OrgKind
from identity_api.db import IdentityTable


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organisation(IdentityTable, table=True):
    __tablename__ = "organisation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    kind: OrgKind = Field(
        sa_column=sa.Column(
            sa.Enum(OrgKind, name="org_kind", native_enum=False, length=20), nullable=False
        )
    )
    country: str = Field(sa_column=sa.Column(sa.CHAR(2), nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
