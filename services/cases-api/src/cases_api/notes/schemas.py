"""What goes over the wire for case notes; the text only to readers of identities."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_NOTE_LENGTH = 20_000


class NoteCategory(StrEnum):
    counselling = "counselling"
    safety = "safety"
    legal = "legal"
    health = "health"
    family = "family"
    general = "general"


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: NoteCategory = NoteCategory.general
    text: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a note says something")
        return text


class NoteCreated(BaseModel):
    """What writing a note returns: never its text."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    category: NoteCategory
    author: str
    created_at: datetime


class NoteRead(NoteCreated):
    beneficiary_id: uuid.UUID
    text: str
