"""Family members assisted alongside a beneficiary (secondary beneficiaries).

Relationship, sex, age group and services are in the clear: statistics count
them. Names and birth date are one ciphertext sealed with the primary
beneficiary's data key, so erasing the primary's identity erases theirs too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable


def _timestamp() -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=False)


class SecondaryBeneficiary(CasesTable, table=True):
    __tablename__ = "secondary_beneficiary"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    # The primary beneficiary, whose data key seals this member's identity.
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    relationship: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    sex: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    age_group: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    services_received: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.String(40)), nullable=False)
    )
    ciphertext: bytes | None = Field(
        default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True)
    )
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_timestamp())
