"""De-identified statistics of secondary beneficiaries (family members assisted).

`secondary_statistics` counts family members, not cases or victims, over at most
two fixed dimensions for a set of organisations and a period, as `case_statistics`
does for persons: SECURITY DEFINER to read across organisations (through the
`definer_read` policies that case_file and secondary_beneficiary already have),
counts only out. Small cells are suppressed by the service before anything leaves it.

A family member counts once, when their primary beneficiary has a case active in
the period (started by the end, not closed before the start); `year` is the year
the latest such case started.

Revision ID: cases_0007
Revises: cases_0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_0007"
down_revision: str | None = "cases_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Static SQL (no dynamic query text): each dimension is one arm of a CASE.
STATISTICS_SQL = """
CREATE FUNCTION secondary_statistics(organisations uuid[], period_start date, period_end date,
                                     dimension_a text, dimension_b text DEFAULT 'none')
RETURNS TABLE (value_a text, value_b text, persons bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    known constant text[] := ARRAY['none', 'relationship', 'sex', 'age_group', 'year'];
    dimension_2 constant text := coalesce(dimension_b, 'none');
BEGIN
    IF dimension_a IS NULL OR NOT dimension_a = ANY (known) OR NOT dimension_2 = ANY (known) THEN
        RAISE EXCEPTION 'unknown statistics dimension'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        WITH latest AS (
            SELECT DISTINCT ON (c.beneficiary_id) c.beneficiary_id, c.assistance_started_on
              FROM case_file c
             WHERE c.organisation_id = ANY (organisations)
               AND c.assistance_started_on <= period_end
               AND (c.closed_on IS NULL OR c.closed_on >= period_start)
             ORDER BY c.beneficiary_id, c.assistance_started_on DESC, c.id DESC
        ), m AS (
            SELECT s.id, s.relationship, s.sex, s.age_group,
                   extract(year FROM l.assistance_started_on)::int::text AS started
              FROM secondary_beneficiary s JOIN latest l ON l.beneficiary_id = s.beneficiary_id
             WHERE s.organisation_id = ANY (organisations)
        )
        SELECT (CASE dimension_a WHEN 'relationship' THEN m.relationship WHEN 'sex' THEN m.sex
                    WHEN 'age_group' THEN m.age_group WHEN 'year' THEN m.started
                    ELSE '' END)::text,
               (CASE dimension_2 WHEN 'relationship' THEN m.relationship WHEN 'sex' THEN m.sex
                    WHEN 'age_group' THEN m.age_group WHEN 'year' THEN m.started
                    ELSE '' END)::text,
               count(DISTINCT m.id)
          FROM m
         GROUP BY 1, 2;
END $$
"""


def upgrade() -> None:
    # No new policy: case_file and secondary_beneficiary have definer_read already.
    # EXECUTE stays with PUBLIC (the default), as for case_statistics.
    op.execute(STATISTICS_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION secondary_statistics(uuid[], date, date, text, text)")
