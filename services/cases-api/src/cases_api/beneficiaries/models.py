"""Beneficiaries: a pseudonymous record in the clear, identity encrypted apart from it.

A beneficiary's data key (AES-256-GCM) is stored wrapped by a master key; it
encrypts the identity, the case notes and the family members' identities.
Destroying it (erasure) makes all of them unreadable, while the non-identifying
attributes that statistics count stay.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable


def _timestamp(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class Beneficiary(CasesTable, table=True):
    __tablename__ = "beneficiary"
    # Lists read one organisation's rows in cursor order (migration cases_0008).
    __table_args__ = (
        sa.Index(
            "ix_beneficiary_organisation_id_created_at_id", "organisation_id", "created_at", "id"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    sex: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    birth_year: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    is_child: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    nationality: str | None = Field(default=None, sa_column=sa.Column(sa.CHAR(2)))
    countries_of_origin: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.CHAR(2)), nullable=False)
    )
    countries_of_exploitation: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.CHAR(2)), nullable=False)
    )
    languages: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(8)), nullable=False)
    )
    # Set once identity is erased; the record stays for statistics.
    erased_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class BeneficiaryKey(CasesTable, table=True):
    """The beneficiary's data key, wrapped by the master key `master_key_id`."""

    __tablename__ = "beneficiary_key"

    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("beneficiary.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    master_key_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    wrapped_key: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    rewrapped_at: datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))


class BeneficiaryIdentity(CasesTable, table=True):
    """Names, birth date, contacts and documents: one encrypted document per beneficiary."""

    __tablename__ = "beneficiary_identity"

    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("beneficiary.id", ondelete="CASCADE"), primary_key=True
        )
    )
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    # HMAC of normalised name + birth date; null when either is unknown.
    blind_index: bytes | None = Field(
        default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True, index=True)
    )
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
