"""Referrals: envelope, encrypted person packet, lifecycle, timeline, disclosures.

A referral and everything recorded about it is visible to exactly its two
organisations, the referrer and the recipient: forced row-level security on a
policy naming both, keyed on the transaction's organisation. The idempotency
keys hold no one's record and are looked up by organisation and caller.

Revision ID: referral_0004
Revises: referral_0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from baton.tenancy import TENANT_SETTING

revision: str = "referral_0004"
down_revision: str | None = "referral_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTY_TABLES = ("referral", "referral_packet", "referral_event", "packet_disclosure")
# NULLIF makes an unbound organisation match nothing, as baton.tenancy's predicate does.
_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
PARTY_PREDICATE = f"referrer_organisation_id = {_TENANT} OR recipient_organisation_id = {_TENANT}"


def _parties() -> list[sa.Column[object]]:
    return [
        sa.Column("referrer_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_organisation_id", sa.Uuid(), nullable=False),
    ]


def _referral_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["referral_id"],
        ["referral.id"],
        name=op.f(f"fk_{table}_referral_id_referral"),
        ondelete="CASCADE",
    )


def _moments(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(name, sa.DateTime(timezone=True), nullable=True) for name in names]


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "subject", "key", name=op.f("pk_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"])

    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_parties(),
        sa.Column("parent_referral_id", sa.Uuid(), nullable=True),
        sa.Column("referrer_reference", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("business_status", sa.String(32), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        *_moments(
            "submitted_at",
            "acknowledged_at",
            "decided_at",
            "accepted_at",
            "first_contact_at",
            "acknowledge_due_at",
            "decision_due_at",
            "first_contact_due_at",
        ),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=True),
        *_moments("handed_off_at"),
        sa.Column("has_packet", sa.Boolean(), nullable=False),
        *_moments("packet_purged_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_referral_id"],
            ["referral.id"],
            name=op.f("fk_referral_parent_referral_id_referral"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
        sa.UniqueConstraint(
            "referrer_organisation_id",
            "referrer_reference",
            name=op.f("uq_referral_referrer_organisation_id_referrer_reference"),
        ),
    )
    for column in ("referrer_organisation_id", "recipient_organisation_id", "parent_referral_id"):
        op.create_index(op.f(f"ix_referral_{column}"), "referral", [column])

    op.create_table(
        "referral_packet",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        *_parties(),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _referral_fk("referral_packet"),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_referral_packet")),
    )
    op.create_index(op.f("ix_referral_packet_master_key_id"), "referral_packet", ["master_key_id"])

    op.create_table(
        "referral_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        *_parties(),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("actor_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("business_status", sa.String(32), nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _referral_fk("referral_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_event")),
    )
    op.create_index(op.f("ix_referral_event_referral_id"), "referral_event", ["referral_id"])

    op.create_table(
        "packet_disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        *_parties(),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("field_groups", postgresql.ARRAY(sa.String(16)), nullable=False),
        sa.Column("consent_basis", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _referral_fk("packet_disclosure"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packet_disclosure")),
    )
    op.create_index(op.f("ix_packet_disclosure_referral_id"), "packet_disclosure", ["referral_id"])

    for table in PARTY_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY referral_parties ON {table} "
            f"USING ({PARTY_PREDICATE}) WITH CHECK ({PARTY_PREDICATE})"
        )


def downgrade() -> None:
    op.drop_table("packet_disclosure")
    op.drop_table("referral_event")
    op.drop_table("referral_packet")
    op.drop_table("referral")
    op.drop_table("idempotency_key")
