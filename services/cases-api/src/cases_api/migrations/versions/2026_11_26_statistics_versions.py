"""Versions of the data statistics count, so cases-api can reuse counts it made.

Every statement writing a table the statistics functions read (beneficiary,
case_file, case_service, secondary_beneficiary) bumps the version of each
organisation it touched, in the same transaction: counts made while the summed
version of their organisations was V are current for as long as it still is V.
The version is split in 16 shards chosen by the writing backend so concurrent
writers of one organisation seldom wait on the same row; shards only grow, so the
sum changes with every write. The table is reached through SECURITY DEFINER
functions only: row-level security is forced on it, as on every table keyed by
organisation, and a restrictive policy admits its owner alone.

Revision ID: cases_0011
Revises: cases_0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from baton.tenancy import tenant_policy_sql

revision: str = "cases_0011"
down_revision: str | None = "cases_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED_TABLES = ("beneficiary", "case_file", "case_service", "secondary_beneficiary")
SHARDS = 16

# Whatever other policy permits, only the owner passes: its SECURITY DEFINER functions
# read and bump versions; the runtime role sees no row and can write none. (A policy, not
# a REVOKE: pg_dump restores policies as they were, but the schema owner's default
# privileges would grant a restored table to the runtime role again.)
OWNER_ONLY = """
DO $$
BEGIN
    EXECUTE format('CREATE POLICY definer_all ON statistics_version TO %I '
                   'USING (true) WITH CHECK (true)', current_user);
    EXECUTE format('CREATE POLICY definer_only ON statistics_version AS RESTRICTIVE '
                   'USING (current_user = %L) WITH CHECK (current_user = %L)',
                   current_user, current_user);
END $$
"""

BUMP = f"""
CREATE FUNCTION statistics_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    touched uuid[];
BEGIN
    CASE TG_OP
        WHEN 'INSERT' THEN touched := ARRAY(SELECT DISTINCT organisation_id FROM new_rows);
        WHEN 'DELETE' THEN touched := ARRAY(SELECT DISTINCT organisation_id FROM old_rows);
        ELSE touched := ARRAY(SELECT organisation_id FROM new_rows
                              UNION SELECT organisation_id FROM old_rows);
    END CASE;
    -- In one order, so two statements touching the same organisations cannot deadlock.
    INSERT INTO statistics_version AS v (organisation_id, shard, version)
    SELECT organisation, pg_backend_pid() % {SHARDS}, 1
      FROM unnest(touched) AS organisation
     ORDER BY organisation
    ON CONFLICT (organisation_id, shard) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END $$
"""

VERSION_OF = """
CREATE FUNCTION statistics_version_of(organisations uuid[]) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(sum(version), 0)::bigint
      FROM statistics_version
     WHERE organisation_id = ANY (organisations)
$$
"""

TRIGGERS = {
    "insert": "AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "statistics_version",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "shard", name=op.f("pk_statistics_version")),
    )
    for statement in tenant_policy_sql("statistics_version"):
        op.execute(statement)
    op.execute(OWNER_ONLY)
    op.execute(BUMP)
    op.execute(VERSION_OF)
    for table in COUNTED_TABLES:
        for event, clause in TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER statistics_version_{event} {clause.format(table=table)} "
                "FOR EACH STATEMENT EXECUTE FUNCTION statistics_version_bump()"
            )


def downgrade() -> None:
    for table in COUNTED_TABLES:
        for event in TRIGGERS:
            op.execute(f"DROP TRIGGER statistics_version_{event} ON {table}")
    op.execute("DROP FUNCTION statistics_version_of(uuid[])")
    op.execute("DROP FUNCTION statistics_version_bump()")
    op.drop_table("statistics_version")
