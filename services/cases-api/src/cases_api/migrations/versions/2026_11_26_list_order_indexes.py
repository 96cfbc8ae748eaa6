"""Indexes in the order lists are read: an organisation's rows by (created_at, id).

Every list is one organisation's rows in cursor order. With only `organisation_id`
indexed, PostgreSQL reads all of that organisation's rows and sorts them to return
fifty; with the order in the index, the first page and a page deep behind a cursor
both read about fifty index entries, however many rows there are (`make bench`).

Revision ID: cases_0008
Revises: cases_0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_0008"
down_revision: str | None = "cases_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTED_TABLES = ("case_file", "beneficiary")


def upgrade() -> None:
    for table in LISTED_TABLES:
        op.create_index(
            f"ix_{table}_organisation_id_created_at_id",
            table,
            ["organisation_id", "created_at", "id"],
        )


def downgrade() -> None:
    for table in LISTED_TABLES:
        op.drop_index(f"ix_{table}_organisation_id_created_at_id", table_name=table)
