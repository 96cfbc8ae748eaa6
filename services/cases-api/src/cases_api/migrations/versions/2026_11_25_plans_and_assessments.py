"""Re/integration plan services and monitoring assessments.

Both tables hold a person's record: row-level security (forced) keys them on the
transaction's organisation; SECURITY DEFINER statistics may read them across
organisations, in aggregate only. CHECK constraints repeat the API's rules
(cost with its currency, scores 1 to 5) for rows written any other way.

Revision ID: cases_0003
Revises: cases_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from baton.tenancy import definer_read_policy_sql, tenant_policy_sql

revision: str = "cases_0003"
down_revision: str | None = "cases_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("case_service", "assessment")
DOMAINS = (
    "safety",
    "housing",
    "physical_health",
    "mental_wellbeing",
    "economic_situation",
    "education_skills",
    "family_social_relations",
    "legal_status",
)


def _belongs_to_case(table: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f(f"fk_{table}_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiary.id"],
            name=op.f(f"fk_{table}_beneficiary_id_beneficiary"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _indexes(table: str) -> None:
    for column in ("organisation_id", "case_id", "beneficiary_id"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    op.create_table(
        "case_service",
        *_belongs_to_case("case_service"),
        sa.Column("service_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_end", sa.Date(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("provider_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("provider_name", sa.String(200), nullable=True),
        sa.Column("cost_amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("cost_currency", sa.CHAR(3), nullable=True),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(cost_amount IS NULL) = (cost_currency IS NULL)",
            name=op.f("ck_case_service_cost_amount_with_currency"),
        ),
        sa.CheckConstraint(
            "cost_amount >= 0", name=op.f("ck_case_service_cost_amount_not_negative")
        ),
        sa.CheckConstraint(
            "cost_currency ~ '^[A-Z]{3}$'", name=op.f("ck_case_service_cost_currency_iso_4217")
        ),
    )
    _indexes("case_service")

    op.create_table(
        "assessment",
        *_belongs_to_case("assessment"),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessed_by", sa.String(200), nullable=False),
        *(sa.Column(domain, sa.SmallInteger(), nullable=True) for domain in DOMAINS),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # 1 severe difficulty ... 5 stable and independent; null: not assessed.
        *(
            sa.CheckConstraint(
                f"{domain} BETWEEN 1 AND 5", name=op.f(f"ck_assessment_{domain}_score")
            )
            for domain in DOMAINS
        ),
        sa.CheckConstraint(
            f"num_nonnulls({', '.join(DOMAINS)}) > 0",
            name=op.f("ck_assessment_at_least_one_domain_scored"),
        ),
    )
    _indexes("assessment")

    for table in TABLES:
        for statement in tenant_policy_sql(table):
            op.execute(statement)
        # Statistics aggregate services and progress across organisations.
        op.execute(definer_read_policy_sql(table))


def downgrade() -> None:
    op.drop_table("assessment")
    op.drop_table("case_service")
