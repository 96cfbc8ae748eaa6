"""De-identified statistics: one aggregate function across organisations.

`case_statistics` counts persons (not cases) over at most two fixed dimensions for
a set of organisations and a period. It runs as the schema owner (SECURITY
DEFINER) so it can read across organisations, and returns counts only: the
runtime role never sees another organisation's rows. Small cells are suppressed
by the service before anything leaves it.

A person is counted once per period, with the latest of their cases that was
active in it (started by the end, not closed before the start); phase and
outcome are taken at the end of the period.

Revision ID: cases_0006
Revises: cases_0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cases_0006"
down_revision: str | None = "cases_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each dimension: the SQL giving its value for person `p`, and for multi-valued ones
# the lateral join that spreads a person over their values (alias %1$s).
DIMENSIONS_SQL = """
CREATE FUNCTION case_statistics_dimension(dimension text, alias text, OUT expression text,
                                          OUT lateral_join text)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    lateral_join := '';
    CASE dimension
        WHEN 'none' THEN expression := '''''';
        WHEN 'sex' THEN expression := 'p.sex';
        WHEN 'age_group' THEN
            expression := 'CASE WHEN p.is_child THEN ''child'' ELSE ''adult'' END';
        WHEN 'nationality' THEN expression := 'coalesce(p.nationality, ''unknown'')';
        WHEN 'phase' THEN expression := 'p.phase';
        WHEN 'outcome' THEN expression := 'p.outcome';
        WHEN 'year' THEN expression := 'extract(year FROM p.assistance_started_on)::int::text';
        WHEN 'exploitation_form' THEN
            expression := alias || '.value';
            lateral_join := format(
                'CROSS JOIN LATERAL unnest(p.exploitation_forms) AS %1$s(value)', alias);
        WHEN 'country_of_exploitation' THEN
            expression := alias || '.value';
            lateral_join := format(
                'CROSS JOIN LATERAL unnest(p.countries_of_exploitation) AS %1$s(value)', alias);
        WHEN 'service_type' THEN
            expression := alias || '.value';
            lateral_join := format(
                'CROSS JOIN LATERAL unnest(p.service_types) AS %1$s(value)', alias);
        ELSE
            RAISE EXCEPTION 'unknown statistics dimension'
                USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END $$
"""

STATISTICS_SQL = """
CREATE FUNCTION case_statistics(organisations uuid[], period_start date, period_end date,
                                dimension_a text, dimension_b text DEFAULT 'none')
RETURNS TABLE (value_a text, value_b text, persons bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    a record := case_statistics_dimension(dimension_a, 'dim_a');
    b record := case_statistics_dimension(coalesce(dimension_b, 'none'), 'dim_b');
BEGIN
    RETURN QUERY EXECUTE format($query$
        WITH latest AS (
            SELECT DISTINCT ON (c.beneficiary_id)
                   c.id, c.beneficiary_id, c.assistance_started_on, c.phase_override,
                   c.exploitation_forms, c.outcome AS case_outcome, c.closed_on,
                   b.sex, b.is_child, b.nationality, b.countries_of_exploitation
              FROM case_file c JOIN beneficiary b ON b.id = c.beneficiary_id
             WHERE c.organisation_id = ANY($1)
               AND c.assistance_started_on <= $3
               AND (c.closed_on IS NULL OR c.closed_on >= $2)
             ORDER BY c.beneficiary_id, c.assistance_started_on DESC, c.id DESC
        ), p AS (
            SELECT l.*,
                   coalesce(l.phase_override, CASE
                       WHEN l.assistance_started_on + interval '3 months'
                            > least($3, l.closed_on, current_date) THEN 'crisis'
                       WHEN l.assistance_started_on + interval '12 months'
                            > least($3, l.closed_on, current_date) THEN 'transition'
                       ELSE 'reintegration' END) AS phase,
                   CASE WHEN l.closed_on IS NOT NULL AND l.closed_on <= $3
                        THEN l.case_outcome ELSE 'in_progress' END AS outcome,
                   ARRAY(SELECT DISTINCT s.service_type FROM case_service s
                          WHERE s.case_id = l.id AND s.status IN ('in_progress', 'delivered')
                            AND coalesce(s.started_on, s.delivered_on, $2) <= $3
                         ) AS service_types
              FROM latest l
        )
        SELECT (%1$s)::text, (%2$s)::text, count(DISTINCT p.beneficiary_id)
          FROM p %3$s %4$s
         GROUP BY 1, 2
    $query$,
        a.expression, b.expression,
        a.lateral_join, b.lateral_join)
    USING organisations, period_start, period_end;
END $$
"""


def upgrade() -> None:
    op.execute(DIMENSIONS_SQL)
    op.execute(STATISTICS_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION case_statistics(uuid[], date, date, text, text)")
    op.execute("DROP FUNCTION case_statistics_dimension(text, text)")
