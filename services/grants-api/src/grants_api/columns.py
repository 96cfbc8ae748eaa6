"""Column shapes every grants-api table uses, so each is declared once."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from baton.db import utcnow

# numeric(14, 2): baton.money's Amount.
MONEY = sa.Numeric(14, 2)


def now_column() -> Any:
    return Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


def moment_column() -> Any:
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True))


def org_column(index: bool = True) -> Any:
    return Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=index))


def grant_id_column() -> Any:
    return Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("grant_award.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


def money_column(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(MONEY, nullable=nullable))


def text_column(length: int, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.String(length), nullable=nullable))


def countries_column() -> Any:
    return Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.String(2)), nullable=False, server_default="{}"),
    )


def id_column() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)
