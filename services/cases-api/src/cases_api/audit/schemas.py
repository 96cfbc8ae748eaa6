"""What goes over the wire for audit events: ids and actions, never identity values."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence: int
    occurred_at: datetime
    actor: str = Field(description="`sub` of the token that acted")
    actor_organisation_id: uuid.UUID
    organisation_id: uuid.UUID = Field(description="The organisation whose record was touched")
    action: str = Field(
        description=(
            "e.g. `identity.read`, `case.update`, `identity.erase`, `audit.read`, "
            "`break_glass.open`"
        )
    )
    resource_type: str
    resource_id: uuid.UUID
    purpose: str | None
    request_id: str | None
    break_glass_id: uuid.UUID | None = Field(
        description="Set on events made under break-glass access: the grant's id"
    )
    hash: str = Field(description="Hex SHA-256 chaining this event to the previous one")


class AuditEventPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None
