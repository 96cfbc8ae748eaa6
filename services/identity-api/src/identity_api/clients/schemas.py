"""What goes over the wire for API clients. A secret appears once, at creation or rotation."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(default_factory=list, max_length=10)
    scopes: list[str] = Field(default_factory=list, max_length=20)
    audiences: list[str] = Field(min_length=1, max_length=10)
    client_id: str | None = Field(
        default=None,
        pattern=CLIENT_ID_PATTERN,
        description="Chosen identifier; one is generated when left out",
    )


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[str] | None = Field(default=None, max_length=10)
    scopes: list[str] | None = Field(default=None, max_length=20)
    audiences: list[str] | None = Field(default=None, min_length=1, max_length=10)
    active: bool | None = None


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    organisation_id: uuid.UUID
    name: str
    roles: list[str]
    scopes: list[str]
    audiences: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class ClientWithSecret(ClientRead):
    client_secret: str = Field(description="Shown this once; store it safely")
    previous_secret_valid_until: datetime | None = Field(
        default=None, description="After a rotation: when the old secret stops working"
    )
