"""grants-api cannot hold a person's identity, by construction: the schema says so.

No column is named for an identity field, and every column that can hold free text
is on a short list whose every input is screened for identifiers (see
`grants_api.screening`) or holds only grants-api's own output. A new text column
fails this test until someone decides, here, that it is safe.
"""

from __future__ import annotations

import re

import asyncpg

# Words that name a person's identity or a link to one (cases-api's beneficiaries).
IDENTITY_WORDS = re.compile(
    r"given|family_name|surname|first_name|last_name|full_name|alias|birth|dob|phone|"
    r"mobile|email|e_mail|address|street|postal|passport|document|national_id|"
    r"nationality|contact|beneficiar|person|victim|client_name|case_id|identity"
)
# 360Giving's beneficiaryLocation: the countries the work serves, never a person's.
NAMED_BUT_SAFE = {"grant_award.beneficiary_countries"}
# Columns that take free text, and why each is safe.
FREE_TEXT = {
    # Screened on the way in (grants_api.screening.screen).
    ("programme", "name"),
    ("programme", "description"),
    ("grant_award", "title"),
    ("grant_award", "description"),
    ("grant_amendment", "reason"),
    ("tranche", "label"),
    ("disbursement", "reference"),
    ("budget_line", "description"),
    ("expenditure", "description"),
    ("reporting_requirement", "review_comment"),
    ("report_submission", "narrative"),
    ("funding_entry", "description"),
    # Before/after values of the grant's own screened or typed fields.
    ("grant_amendment", "changes"),
    # Names mapped to numbers only (validated on the way in).
    ("report_submission", "figures"),
    # grants-api's own responses, replayed to the same caller.
    ("idempotency_key", "response_body"),
    ("idempotency_key", "response_headers"),
}
# Short strings: codes, statuses, ids of callers, ISO codes; never a person's text.
SHORT_TEXT = 32


async def _columns(superuser: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(
        await superuser.fetch(
            "SELECT table_name, column_name, data_type, character_maximum_length "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name <> 'alembic_version' ORDER BY table_name, column_name"
        )
    )


async def test_no_column_is_named_for_an_identity(superuser: asyncpg.Connection) -> None:
    columns = await _columns(superuser)
    assert len(columns) > 50  # the schema is there
    named = [
        f"{c['table_name']}.{c['column_name']}"
        for c in columns
        if IDENTITY_WORDS.search(c["column_name"]) or IDENTITY_WORDS.search(c["table_name"])
    ]
    assert set(named) == NAMED_BUT_SAFE


async def test_every_free_text_column_is_one_we_screen(superuser: asyncpg.Connection) -> None:
    free_text = set()
    for c in await _columns(superuser):
        kind, length = c["data_type"], c["character_maximum_length"]
        if kind in ("text", "jsonb", "json", "bytea") or (
            kind == "character varying" and (length is None or length > SHORT_TEXT)
        ):
            free_text.add((c["table_name"], c["column_name"]))
    # Who did what: subjects of callers (a token's `sub`), never a person helped.
    callers = {
        (table, column)
        for table, column in free_text
        if column
        in (
            "created_by",
            "updated_by",
            "changed_by",
            "reported_by",
            "submitted_by",
            "reviewed_by",
            "subject",
        )
    }
    # Fixed-format values: identifiers, endpoints and hashes of grants-api's own making.
    fixed = {
        ("grant_award", "identifier"),
        ("idempotency_key", "key"),
        ("idempotency_key", "endpoint"),
        ("idempotency_key", "fingerprint"),
    }
    assert free_text - callers - fixed == FREE_TEXT


async def test_the_schema_has_no_column_typed_for_a_person(superuser: asyncpg.Connection) -> None:
    # Dates are periods and due dates; none is a birth date (checked by name above),
    # and no table references another service's person records.
    references = await superuser.fetch(
        "SELECT conrelid::regclass::text AS table_name, confrelid::regclass::text AS target "
        "FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    )
    targets = {row["target"] for row in references}
    assert targets <= {
        "grant_award",
        "programme",
        "tranche",
        "reporting_requirement",
        "funding_year",
    }
