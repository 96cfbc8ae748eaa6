"""Secondary beneficiaries, consents and encrypted case notes.

Every table holds a person's data: row-level security (forced) on all three.
`identity_shared_with` lets duplicate detection name another organisation only
where the person agreed to share their identity with the one asking.

Revision ID: cases_0004
Revises: cases_0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.tenancy import definer_read_policy_sql, tenant_policy_sql

revision: str = "cases_0004"
down_revision: str | None = "cases_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("secondary_beneficiary", "consent", "case_note")


def _beneficiary_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["beneficiary_id"], ["beneficiary.id"], name=op.f(f"fk_{table}_beneficiary_id_beneficiary")
    )


def upgrade() -> None:
    op.create_table(
        "secondary_beneficiary",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("relationship", sa.String(32), nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("age_group", sa.String(16), nullable=False),
        sa.Column("services_received", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _beneficiary_fk("secondary_beneficiary"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secondary_beneficiary")),
    )
    for column in ("organisation_id", "beneficiary_id"):
        op.create_index(
            op.f(f"ix_secondary_beneficiary_{column}"), "secondary_beneficiary", [column]
        )

    op.create_table(
        "consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("recipient_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_country", sa.CHAR(2), nullable=True),
        sa.Column("scope", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=True),
        sa.Column("legal_basis_note", sa.String(500), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(200), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("language", sa.String(3), nullable=True),
        sa.Column("interpreter_used", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type <> 'sharing' OR recipient_organisation_id IS NOT NULL",
            name=op.f("ck_consent_sharing_names_recipient"),
        ),
        sa.CheckConstraint(
            "type <> 'cross_border_transfer' OR recipient_country IS NOT NULL",
            name=op.f("ck_consent_transfer_names_country"),
        ),
        sa.CheckConstraint(
            "legal_basis IS NULL OR legal_basis = 'consent' OR legal_basis_note IS NOT NULL",
            name=op.f("ck_consent_legal_basis_explained"),
        ),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on > given_on",
            name=op.f("ck_consent_expires_after_given"),
        ),
        sa.CheckConstraint(
            "(withdrawn_at IS NULL) = (withdrawn_by IS NULL)",
            name=op.f("ck_consent_withdrawal_complete"),
        ),
        _beneficiary_fk("consent"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    for column in ("organisation_id", "beneficiary_id"):
        op.create_index(op.f(f"ix_consent_{column}"), "consent", [column])

    op.create_table(
        "case_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_note_case_id_case_file")
        ),
        _beneficiary_fk("case_note"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_note")),
    )
    for column in ("organisation_id", "case_id", "beneficiary_id"):
        op.create_index(op.f(f"ix_case_note_{column}"), "case_note", [column])

    for table in TENANT_TABLES:
        for statement in tenant_policy_sql(table):
            op.execute(statement)
    # Statistics count family members; duplicate detection reads sharing consents.
    for table in ("secondary_beneficiary", "consent"):
        op.execute(definer_read_policy_sql(table))

    # Names the organisations that know this person only where the person agreed
    # (their own consent, not another legal basis) to share their identity with the
    # asking organisation, and the consent holds today (UTC).
    op.execute(
        """
        CREATE FUNCTION identity_shared_with(candidate bytea, asking_organisation uuid)
        RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT DISTINCT identity.organisation_id
              FROM beneficiary_identity AS identity
              JOIN consent ON consent.beneficiary_id = identity.beneficiary_id
                          AND consent.organisation_id = identity.organisation_id
             WHERE identity.blind_index = candidate
               AND identity.organisation_id <> asking_organisation
               AND consent.type = 'sharing'
               AND consent.legal_basis = 'consent'
               AND consent.recipient_organisation_id = asking_organisation
               AND 'identity' = ANY (consent.scope)
               AND consent.given_on <= (now() AT TIME ZONE 'UTC')::date
               AND (consent.expires_on IS NULL
                    OR consent.expires_on > (now() AT TIME ZONE 'UTC')::date)
               AND consent.withdrawn_at IS NULL
             ORDER BY 1
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION identity_shared_with(bytea, uuid)")
    op.drop_table("case_note")
    op.drop_table("consent")
    op.drop_table("secondary_beneficiary")
