"""Programmes, grants with their funders and amendments, money flows, reporting and
the NGOs' funding mix. No column can hold a person's identity (tests check it).

Row-level security, forced, keyed on the transaction's organisation: a programme
shows to its funders and to the NGOs holding a grant in it; a grant to its
parties (recipient and funders); everything about a grant shows when its grant
does; a funding mix to its NGO, and for reading to the donors whose grants the
NGO receives.

Revision ID: grants_0002
Revises: grants_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.tenancy import TENANT_SETTING

revision: str = "grants_0002"
down_revision: str | None = "grants_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NULLIF makes an unbound organisation match nothing, as baton.tenancy's predicate does.
_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
GRANT_CHILDREN = (
    "grant_funder",
    "grant_amendment",
    "tranche",
    "disbursement",
    "budget_line",
    "expenditure",
    "reporting_requirement",
    "report_submission",
)
# The grants the transaction's organisation may see (grant_award's own policy applies).
_VISIBLE_GRANT = "grant_id IN (SELECT id FROM grant_award)"
_GRANTED_IN = "id IN (SELECT programme_id FROM grant_award)"
_OWN = f"organisation_id = {_TENANT}"
_FUNDED = (
    "organisation_id IN (SELECT recipient_organisation_id FROM grant_award WHERE status <> 'draft')"
)


def upgrade() -> None:
    op.create_table(
        "funding_year",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "year", name=op.f("pk_funding_year")),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column(
            "response_body",
            postgresql.JSONB(none_as_null=True, astext_type=sa.Text()),
            nullable=True,
        ),
        sa.Column(
            "response_headers",
            postgresql.JSONB(none_as_null=True, astext_type=sa.Text()),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "subject", "key", name=op.f("pk_idempotency_key")
        ),
    )
    op.create_index(
        op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"], unique=False
    )
    op.create_table(
        "programme",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("managing_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("funder_organisation_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column(
            "countries", postgresql.ARRAY(sa.String(length=2)), server_default="{}", nullable=False
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "managing_organisation_id = ANY(funder_organisation_ids)",
            name=op.f("ck_programme_manager_funds"),
        ),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_programme_period_runs_forward")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
    )
    op.create_index(
        op.f("ix_programme_managing_organisation_id"),
        "programme",
        ["managing_organisation_id"],
        unique=False,
    )
    op.create_table(
        "funding_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id", "year"],
            ["funding_year.organisation_id", "funding_year.year"],
            name=op.f("fk_funding_entry_organisation_id_funding_year"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_entry")),
        sa.UniqueConstraint(
            "organisation_id",
            "year",
            "source",
            "kind",
            "currency",
            name=op.f("uq_funding_entry_organisation_id_year_source_kind_currency"),
        ),
    )
    op.create_index(
        op.f("ix_funding_entry_organisation_id"), "funding_entry", ["organisation_id"], unique=False
    )
    op.create_table(
        "grant_award",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=True),
        sa.Column("managing_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("party_organisation_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_applied_for", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("amount_awarded", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("award_date", sa.Date(), nullable=True),
        sa.Column("planned_start", sa.Date(), nullable=False),
        sa.Column("planned_end", sa.Date(), nullable=False),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_end", sa.Date(), nullable=True),
        sa.Column(
            "beneficiary_countries",
            postgresql.ARRAY(sa.String(length=2)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("budget_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start",
            name=op.f("ck_grant_award_actual_runs_forward"),
        ),
        sa.CheckConstraint(
            "planned_end >= planned_start", name=op.f("ck_grant_award_planned_runs_forward")
        ),
        sa.CheckConstraint(
            "recipient_organisation_id = ANY(party_organisation_ids) "
            "AND managing_organisation_id = ANY(party_organisation_ids)",
            name=op.f("ck_grant_award_parties_named"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_grant_award_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_award")),
        sa.UniqueConstraint("identifier", name=op.f("uq_grant_award_identifier")),
    )
    op.create_index(
        op.f("ix_grant_award_managing_organisation_id"),
        "grant_award",
        ["managing_organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_grant_award_programme_id"), "grant_award", ["programme_id"], unique=False
    )
    op.create_index(
        op.f("ix_grant_award_recipient_organisation_id"),
        "grant_award",
        ["recipient_organisation_id"],
        unique=False,
    )
    op.create_index(op.f("ix_grant_award_status"), "grant_award", ["status"], unique=False)
    op.create_table(
        "budget_line",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_budget_line_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_line")),
        sa.UniqueConstraint("grant_id", "category", name=op.f("uq_budget_line_grant_id_category")),
    )
    op.create_index(op.f("ix_budget_line_grant_id"), "budget_line", ["grant_id"], unique=False)
    op.create_table(
        "expenditure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_expenditure_period_runs_forward")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_expenditure_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expenditure")),
    )
    op.create_index(op.f("ix_expenditure_grant_id"), "expenditure", ["grant_id"], unique=False)
    op.create_table(
        "grant_amendment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version_after", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_grant_amendment_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_amendment")),
        sa.UniqueConstraint("grant_id", "number", name=op.f("uq_grant_amendment_grant_id_number")),
    )
    op.create_index(
        op.f("ix_grant_amendment_grant_id"), "grant_amendment", ["grant_id"], unique=False
    )
    op.create_table(
        "grant_funder",
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_grant_funder_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grant_id", "organisation_id", name=op.f("pk_grant_funder")),
    )
    op.create_table(
        "reporting_requirement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("review_comment", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_reporting_requirement_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_requirement")),
    )
    op.create_index(
        op.f("ix_reporting_requirement_grant_id"),
        "reporting_requirement",
        ["grant_id"],
        unique=False,
    )
    op.create_table(
        "tranche",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_tranche_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tranche")),
    )
    op.create_index(op.f("ix_tranche_grant_id"), "tranche", ["grant_id"], unique=False)
    op.create_table(
        "disbursement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("tranche_id", sa.Uuid(), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_currency", sa.String(length=3), nullable=True),
        sa.Column("exchange_rate", sa.Numeric(precision=18, scale=8), nullable=True),
        sa.Column("rate_date", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(paid_amount IS NULL) = (paid_currency IS NULL) "
            "AND (paid_amount IS NULL) = (exchange_rate IS NULL) "
            "AND (paid_amount IS NULL) = (rate_date IS NULL)",
            name=op.f("ck_disbursement_conversion_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_disbursement_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tranche_id"], ["tranche.id"], name=op.f("fk_disbursement_tranche_id_tranche")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursement")),
    )
    op.create_index(op.f("ix_disbursement_grant_id"), "disbursement", ["grant_id"], unique=False)
    op.create_index(
        op.f("ix_disbursement_tranche_id"), "disbursement", ["tranche_id"], unique=False
    )
    op.create_table(
        "report_submission",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requirement_id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("narrative", sa.String(length=20000), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grant_award.id"],
            name=op.f("fk_report_submission_grant_id_grant_award"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["reporting_requirement.id"],
            name=op.f("fk_report_submission_requirement_id_reporting_requirement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submission")),
    )
    op.create_index(
        op.f("ix_report_submission_grant_id"), "report_submission", ["grant_id"], unique=False
    )
    op.create_index(
        op.f("ix_report_submission_requirement_id"),
        "report_submission",
        ["requirement_id"],
        unique=False,
    )

    # A programme: its funders change it; they and the NGOs holding a grant in it read it.
    funds = f"{_TENANT} = ANY(funder_organisation_ids)"
    _force_rls("programme")
    op.execute(
        f"CREATE POLICY parties ON programme USING ({funds} OR {_GRANTED_IN}) WITH CHECK ({funds})"
    )
    policies = {
        "grant_award": f"{_TENANT} = ANY(party_organisation_ids)",
        **dict.fromkeys(GRANT_CHILDREN, _VISIBLE_GRANT),
    }
    for table, predicate in policies.items():
        _force_rls(table)
        op.execute(f"CREATE POLICY parties ON {table} USING ({predicate}) WITH CHECK ({predicate})")
    for table in ("funding_year", "funding_entry"):
        _force_rls(table)
        op.execute(f"CREATE POLICY owner ON {table} USING ({_OWN}) WITH CHECK ({_OWN})")
        op.execute(f"CREATE POLICY funders_read ON {table} FOR SELECT USING ({_FUNDED})")


def _force_rls(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index(op.f("ix_report_submission_requirement_id"), table_name="report_submission")
    op.drop_index(op.f("ix_report_submission_grant_id"), table_name="report_submission")
    op.drop_table("report_submission")
    op.drop_index(op.f("ix_disbursement_tranche_id"), table_name="disbursement")
    op.drop_index(op.f("ix_disbursement_grant_id"), table_name="disbursement")
    op.drop_table("disbursement")
    op.drop_index(op.f("ix_tranche_grant_id"), table_name="tranche")
    op.drop_table("tranche")
    op.drop_index(op.f("ix_reporting_requirement_grant_id"), table_name="reporting_requirement")
    op.drop_table("reporting_requirement")
    op.drop_table("grant_funder")
    op.drop_index(op.f("ix_grant_amendment_grant_id"), table_name="grant_amendment")
    op.drop_table("grant_amendment")
    op.drop_index(op.f("ix_expenditure_grant_id"), table_name="expenditure")
    op.drop_table("expenditure")
    op.drop_index(op.f("ix_budget_line_grant_id"), table_name="budget_line")
    op.drop_table("budget_line")
    op.drop_index(op.f("ix_grant_award_status"), table_name="grant_award")
    op.drop_index(op.f("ix_grant_award_recipient_organisation_id"), table_name="grant_award")
    op.drop_index(op.f("ix_grant_award_programme_id"), table_name="grant_award")
    op.drop_index(op.f("ix_grant_award_managing_organisation_id"), table_name="grant_award")
    op.drop_table("grant_award")
    op.drop_index(op.f("ix_funding_entry_organisation_id"), table_name="funding_entry")
    op.drop_table("funding_entry")
    op.drop_index(op.f("ix_programme_managing_organisation_id"), table_name="programme")
    op.drop_table("programme")
    op.drop_index(op.f("ix_idempotency_key_created_at"), table_name="idempotency_key")
    op.drop_table("idempotency_key")
    op.drop_table("funding_year")
