"""What goes over the wire for restrictions and break-glass grants."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cases_api.vocabulary import RestrictionReason

DEFAULT_MINUTES = 60
MAX_MINUTES = 240


class RestrictionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: RestrictionReason | None = Field(
        description="Why only the assigned caseworker may read the identity and notes; "
        "null lifts the restriction"
    )


class BreakGlassOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    justification: str = Field(
        min_length=20,
        max_length=2000,
        description="The emergency: why you need this case now. Stored encrypted.",
    )
    duration_minutes: int = Field(default=DEFAULT_MINUTES, ge=1, le=MAX_MINUTES)

    @field_validator("justification")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if len(text.strip()) < 20:
            raise ValueError("a justification says what the emergency is")
        return text


class GrantState(StrEnum):
    open = "open"
    closed = "closed"  # by its holder, before it expired
    expired = "expired"


class BreakGlassRead(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    holder: str = Field(description="`sub` of the case manager it was opened for")
    duration_minutes: int
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    state: GrantState
    justification: str | None = Field(
        description="Only to those who may read the case's notes now; each read is audited"
    )
