"""`tenant_row` reads a case with a statement planned once per connection.

cases_0010's function built its query with EXECUTE, which PostgreSQL parses and
plans on every call (the row-level security policy included): about as much of the
database's CPU as the rest of a case read. A static statement in PL/pgSQL keeps its
plan for the connection. Tables other than case_file still go through EXECUTE;
row-level security applies in both, as the function runs as its caller.

Revision ID: cases_0012
Revises: cases_0011
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_0012"
down_revision: str | None = "cases_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = """
CREATE OR REPLACE FUNCTION tenant_row(template anyelement, row_id uuid, org_id uuid,
                                      by_organisation boolean)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('baton.org_id', org_id::text, true);
"""

_DYNAMIC = """
    RETURN QUERY EXECUTE format(
        'SELECT * FROM %s WHERE id = $1' ||
        CASE WHEN by_organisation THEN ' AND organisation_id = $2' ELSE '' END,
        pg_typeof(template)
    ) USING row_id, org_id;
"""

PLANNED_ONCE = f"""{_SIGNATURE}
    IF pg_typeof(template) = 'case_file'::regtype THEN
        RETURN QUERY SELECT * FROM case_file
            WHERE id = row_id AND (organisation_id = org_id OR NOT by_organisation);
        RETURN;
    END IF;
{_DYNAMIC}
END $$
"""

# cases_0010's body, for the way back.
DYNAMIC_ONLY = f"""{_SIGNATURE}{_DYNAMIC}END $$
"""


def upgrade() -> None:
    op.execute(PLANNED_ONCE)


def downgrade() -> None:
    op.execute(DYNAMIC_ONLY)
