"""Baseline of referral-api: the empty schema every later revision builds on.

Revision ID: referral_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "referral_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
