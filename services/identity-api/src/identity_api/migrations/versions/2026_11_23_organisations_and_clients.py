"""Organisations, API clients and their hashed secrets.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "identity_0002"
down_revision: str | None = "identity_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "ngo",
                "government",
                "donor",
                "platform",
                name="org_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("country", sa.CHAR(length=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_table(
        "api_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("audiences", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_api_client_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_client_client_id")),
    )
    op.create_index(op.f("ix_api_client_organisation_id"), "api_client", ["organisation_id"])
    op.create_table(
        "client_secret",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("api_client_id", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_client.id"],
            name=op.f("fk_client_secret_api_client_id_api_client"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_secret")),
    )
    op.create_index(op.f("ix_client_secret_api_client_id"), "client_secret", ["api_client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_client_secret_api_client_id"), table_name="client_secret")
    op.drop_table("client_secret")
    op.drop_index(op.f("ix_api_client_organisation_id"), table_name="api_client")
    op.drop_table("api_client")
    op.drop_table("organisation")
