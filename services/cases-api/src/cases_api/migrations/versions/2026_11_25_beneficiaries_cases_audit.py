"""Beneficiaries, encrypted identities and their keys, cases, the audit log.

Row-level security (forced, keyed on the transaction's organisation) guards every
table that holds a person's record. The audit log is append-only for everyone:
a trigger refuses UPDATE, DELETE and TRUNCATE whoever asks.

Revision ID: cases_0002
Revises: cases_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.tenancy import definer_read_policy_sql, tenant_policy_sql

revision: str = "cases_0002"
down_revision: str | None = "cases_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("beneficiary", "beneficiary_key", "beneficiary_identity", "case_file")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "beneficiary",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("is_child", sa.Boolean(), nullable=False),
        sa.Column("nationality", sa.CHAR(2), nullable=True),
        sa.Column("countries_of_origin", postgresql.ARRAY(sa.CHAR(2)), nullable=False),
        sa.Column("countries_of_exploitation", postgresql.ARRAY(sa.CHAR(2)), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(8)), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiary")),
    )
    op.create_index(op.f("ix_beneficiary_organisation_id"), "beneficiary", ["organisation_id"])

    op.create_table(
        "beneficiary_key",
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiary.id"],
            name=op.f("fk_beneficiary_key_beneficiary_id_beneficiary"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("beneficiary_id", name=op.f("pk_beneficiary_key")),
    )
    op.create_index(op.f("ix_beneficiary_key_master_key_id"), "beneficiary_key", ["master_key_id"])

    op.create_table(
        "beneficiary_identity",
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiary.id"],
            name=op.f("fk_beneficiary_identity_beneficiary_id_beneficiary"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("beneficiary_id", name=op.f("pk_beneficiary_identity")),
    )
    op.create_index(
        op.f("ix_beneficiary_identity_blind_index"), "beneficiary_identity", ["blind_index"]
    )

    op.create_table(
        "case_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assistance_started_on", sa.Date(), nullable=False),
        sa.Column("phase_override", sa.String(16), nullable=True),
        sa.Column("phase_override_reason", sa.String(500), nullable=True),
        sa.Column("phase_override_by", sa.String(200), nullable=True),
        sa.Column("phase_override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exploitation_forms", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("identification_stage", sa.String(16), nullable=False),
        sa.Column("referral_source", sa.String(32), nullable=True),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_to", sa.String(200), nullable=True),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("reflection_jurisdiction", sa.CHAR(2), nullable=True),
        sa.Column("reflection_started_on", sa.Date(), nullable=True),
        sa.Column("reflection_days", sa.SmallInteger(), nullable=True),
        sa.Column("reflection_ends_on", sa.Date(), nullable=True),
        sa.Column("reflection_informed_by", sa.String(200), nullable=True),
        sa.Column("reflection_informed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiary.id"],
            name=op.f("fk_case_file_beneficiary_id_beneficiary"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("referral_id", name=op.f("uq_case_file_referral_id")),
    )
    op.create_index(op.f("ix_case_file_organisation_id"), "case_file", ["organisation_id"])
    op.create_index(op.f("ix_case_file_beneficiary_id"), "case_file", ["beneficiary_id"])

    op.create_table(
        "audit_event",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("previous_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
    )
    op.create_index(op.f("ix_audit_event_organisation_id"), "audit_event", ["organisation_id"])
    op.create_index(op.f("ix_audit_event_resource_id"), "audit_event", ["resource_id"])

    for table in TENANT_TABLES:
        for statement in tenant_policy_sql(table):
            op.execute(statement)
    # For SECURITY DEFINER functions that answer across organisations (aggregates, yes/no).
    for table in ("beneficiary", "beneficiary_identity", "case_file"):
        op.execute(definer_read_policy_sql(table))

    op.execute(
        """
        CREATE FUNCTION audit_event_is_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_is_append_only()"
    )

    # Duplicate detection across organisations answers yes or no, never where.
    op.execute(
        """
        CREATE FUNCTION identity_known_elsewhere(candidate bytea, own_organisation uuid)
        RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT EXISTS (
                SELECT 1 FROM beneficiary_identity
                 WHERE blind_index = candidate AND organisation_id <> own_organisation
            )
        $$
        """
    )
    # Maintenance (master-key rotation) walks organisations one by one under RLS.
    op.execute(
        """
        CREATE FUNCTION tenant_organisations() RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT DISTINCT organisation_id FROM beneficiary ORDER BY 1
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION tenant_organisations()")
    op.execute("DROP FUNCTION identity_known_elsewhere(bytea, uuid)")
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION audit_event_is_append_only()")
    op.drop_table("case_file")
    op.drop_table("beneficiary_identity")
    op.drop_table("beneficiary_key")
    op.drop_table("beneficiary")
