"""Restricted cases and break-glass grants; the audit log flags what was done under one.

A restricted case's identity and notes are read by its assigned caseworker only,
others only under a break-glass grant: one case manager, one case, minutes long.
Grants hold a justification that may name the person: row-level security (forced),
as on every table of a person's data. The runtime role gets its privileges from the
schema owner's default privileges (deploy/postgres/provision.sql), as for every table.

Revision ID: cases_0009
Revises: cases_0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baton.tenancy import tenant_policy_sql

revision: str = "cases_0009"
down_revision: str | None = "cases_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("case_file", sa.Column("restricted_reason", sa.String(32), nullable=True))
    op.add_column("case_file", sa.Column("restricted_by", sa.String(200), nullable=True))
    op.add_column(
        "case_file", sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_case_file_restriction_complete"),
        "case_file",
        "(restricted_reason IS NULL) = (restricted_by IS NULL) "
        "AND (restricted_reason IS NULL) = (restricted_at IS NULL)",
    )

    # Nullable, and hashed only when set: the chain written so far verifies unchanged.
    op.add_column("audit_event", sa.Column("break_glass_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_audit_event_break_glass_id"), "audit_event", ["break_glass_id"])

    op.create_table(
        "break_glass_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("duration_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "expires_at > opened_at", name=op.f("ck_break_glass_grant_expires_after_opening")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_break_glass_grant_case_id_case_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grant")),
    )
    op.create_index(
        op.f("ix_break_glass_grant_organisation_id"), "break_glass_grant", ["organisation_id"]
    )
    op.create_index(
        "ix_break_glass_grant_case_id_opened_at_id",
        "break_glass_grant",
        ["case_id", "opened_at", "id"],
    )
    for statement in tenant_policy_sql("break_glass_grant"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("break_glass_grant")
    op.drop_index(op.f("ix_audit_event_break_glass_id"), table_name="audit_event")
    op.drop_column("audit_event", "break_glass_id")
    op.drop_constraint(op.f("ck_case_file_restriction_complete"), "case_file", type_="check")
    for column in ("restricted_at", "restricted_by", "restricted_reason"):
        op.drop_column("case_file", column)
