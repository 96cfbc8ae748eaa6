"""Case notes: free text, encrypted with the beneficiary's data key, never edited."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from baton.db import utcnow
from cases_api.db import CasesTable


class CaseNote(CasesTable, table=True):
    """One note; the category is in the clear for filtering, the text never is."""

    __tablename__ = "case_note"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    case_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("case_file.id"), nullable=False, index=True)
    )
    beneficiary_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("beneficiary.id"), nullable=False, index=True)
    )
    author: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    ciphertext: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    category: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
