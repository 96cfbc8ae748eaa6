"""API clients (machine-to-machine) and their hashed secrets."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from identity_api.db import IdentityTable
from identity_api.organisations.models import utcnow


class ApiClient(IdentityTable, table=True):
    __tablename__ = "api_client"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The public identifier sent at the token endpoint.
    client_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    organisation_id: uuid.UUID = Field(foreign_key="organisation.id", index=True)
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    roles: list[str] = Field(sa_column=sa.Column(ARRAY(sa.String(40)), nullable=False))
    scopes: list[str] = Field(sa_column=sa.Column(ARRAY(sa.String(60)), nullable=False))
    audiences: list[str] = Field(sa_column=sa.Column(ARRAY(sa.String(60)), nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class ClientSecret(IdentityTable, table=True):
    """An Argon2id hash; a rotated-out secret keeps working until `expires_at`."""

    __tablename__ = "client_secret"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    api_client_id: uuid.UUID = Field(foreign_key="api_client.id", index=True)
    secret_hash: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )
