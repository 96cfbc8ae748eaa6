"""The provider directory: providers, their services and capacity.

Shared by design (every referrer reads every entry) and free of any person's
data and of any address, so no row-level security: the service checks who may
write. One entry per organisation; a service's capacity goes with the service.

Revision ID: referral_0003
Revises: referral_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "referral_0003"
down_revision: str | None = "referral_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "provider",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.CHAR(2), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("regions_served", postgresql.ARRAY(sa.String(6)), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(3)), nullable=False),
        sa.Column("available_24_7", sa.Boolean(), nullable=False),
        sa.Column("accepts_referrals", sa.Boolean(), nullable=False),
        sa.Column("intake_phone", sa.String(16), nullable=True),
        sa.Column("intake_email", sa.String(254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_provider_organisation_id")),
    )
    op.create_index(op.f("ix_provider_country"), "provider", ["country"])

    op.create_table(
        "provider_service",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("service_type", sa.String(40), nullable=False),
        sa.Column("target_groups", postgresql.ARRAY(sa.String(16)), nullable=False),
        sa.Column("exploitation_forms", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("eligibility", sa.String(300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_provider_service_provider_id_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_service")),
    )
    op.create_index(op.f("ix_provider_service_provider_id"), "provider_service", ["provider_id"])
    op.create_index(op.f("ix_provider_service_service_type"), "provider_service", ["service_type"])

    op.create_table(
        "provider_capacity",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("places_total", sa.Integer(), nullable=False),
        sa.Column("places_free", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "places_free >= 0 AND places_free <= places_total",
            name=op.f("ck_provider_capacity_places_within_total"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["provider_service.id"],
            name=op.f("fk_provider_capacity_service_id_provider_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_provider_capacity")),
    )


def downgrade() -> None:
    op.drop_table("provider_capacity")
    op.drop_table("provider_service")
    op.drop_table("provider")
