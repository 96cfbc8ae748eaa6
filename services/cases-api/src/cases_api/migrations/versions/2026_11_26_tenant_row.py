"""Case reads in one round trip: `tenant_row` binds the organisation and reads the row.

The lean read path (baton.reads) used three round trips (BEGIN with the organisation,
the SELECT, COMMIT). One statement calling this function does the same: the binding
is transaction-local, so it ends with the statement's own transaction, and
row-level security applies inside as everywhere (the function runs as its caller:
SECURITY INVOKER). `template` is a NULL of the table's row type and names the table;
`by_organisation` false leaves the organisation out of the query (the test-only
switch of baton.tenancy), never out of row-level security.

Revision ID: cases_0010
Revises: cases_0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_0010"
down_revision: str | None = "cases_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_ROW = """
CREATE FUNCTION tenant_row(template anyelement, row_id uuid, org_id uuid,
                           by_organisation boolean)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('baton.org_id', org_id::text, true);
    RETURN QUERY EXECUTE format(
        'SELECT * FROM %s WHERE id = $1' ||
        CASE WHEN by_organisation THEN ' AND organisation_id = $2' ELSE '' END,
        pg_typeof(template)
    ) USING row_id, org_id;
END $$
"""


def upgrade() -> None:
    op.execute(TENANT_ROW)


def downgrade() -> None:
    op.execute("DROP FUNCTION tenant_row(anyelement, uuid, uuid, boolean)")
