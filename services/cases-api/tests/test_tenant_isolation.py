"""One organisation never sees another's records: in the API, and underneath in PostgreSQL.

The API tests run twice: as the service is, and with its organisation filters switched
off (`test_row_level_security_alone`), where row-level security alone must refuse.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from baton.testing import (
    app_client,
    assert_organisation_ends_with_its_transaction,
    assert_row_level_security_forced,
    with_and_without_organisation_filter,
)
from cases_api.config import CasesSettings
from cases_api.main import create_app
from cases_factories import (
    PLANTED_BIRTH_DATE,
    PLANTED_FAMILY,
    Caller,
    CallerFactory,
    identity,
    new_beneficiary,
    new_case,
)

TENANT_TABLES = (
    "beneficiary",
    "beneficiary_key",
    "beneficiary_identity",
    "case_file",
    "case_service",
    "assessment",
    "secondary_beneficiary",
    "consent",
    "case_note",
)
# Keyed by organisation but holding no one's record: ids and actions, replayable responses.
NOT_TENANT_TABLES = ("audit_event", "idempotency_key")
PURPOSE = {"purpose": "case_management"}


async def as_tenant(
    connection: asyncpg.Connection, org_id: uuid.UUID, sql: str, *args: object
) -> str:
    """Run `sql` in a transaction bound to `org_id`, as the service would."""
    async with connection.transaction():
        await connection.execute("SELECT set_config('baton.org_id', $1, true)", str(org_id))
        status: str = await connection.execute(sql, *args)
        return status


async def _records_of(cases: httpx.AsyncClient, owner: Caller, given: str) -> tuple[str, str]:
    beneficiary = await new_beneficiary(cases, owner, identity(given=given))
    case_id = (await new_case(cases, owner, beneficiary["id"])).json()["id"]
    # Something in every table that holds a person's record.
    for path, body in (
        (f"/v1/cases/{case_id}/services", {"service_type": "legal"}),
        (
            f"/v1/cases/{case_id}/assessments",
            {"assessed_on": "2026-10-01", "scores": {"safety": 2}},
        ),
        (f"/v1/cases/{case_id}/notes", {"category": "safety", "text": f"Threatened {given}"}),
        (
            f"/v1/beneficiaries/{beneficiary['id']}/family-members",
            {"relationship": "child", "sex": "male", "age_group": "child"},
        ),
        (
            f"/v1/beneficiaries/{beneficiary['id']}/consents",
            {"type": "data_processing", "given_on": "2026-09-01", "language": "sq"},
        ),
    ):
        response = await cases.post(path, json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
    return beneficiary["id"], case_id


@with_and_without_organisation_filter
async def test_a_caseworker_gets_nothing_of_another_organisation(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    owner = caller("ngo", ["case_manager"])
    given = f"Arta{uuid.uuid4().hex[:6]}"
    beneficiary_id, case_id = await _records_of(cases, owner, given)
    other = caller("ngo", ["case_manager"])
    if_match = other.with_headers(if_match='"1"')
    b_path, c_path = f"/v1/beneficiaries/{beneficiary_id}", f"/v1/cases/{case_id}"

    attempts = [
        await cases.get(b_path, headers=other.headers),
        await cases.get(b_path, params={"include": "identity", **PURPOSE}, headers=other.headers),
        await cases.get(f"{b_path}/identity", params=PURPOSE, headers=other.headers),
        await cases.patch(b_path, json={"languages": ["en"]}, headers=if_match),
        await cases.put(f"{b_path}/identity", json=identity(), headers=if_match),
        await cases.delete(f"{b_path}/identity", headers=other.headers),
        await cases.get(c_path, headers=other.headers),
        await cases.patch(c_path, json={"risk_level": "low"}, headers=if_match),
        await cases.post(f"{c_path}/assignment", json={"assigned_to": "x"}, headers=if_match),
        await cases.post(
            f"{c_path}/closure",
            json={"outcome": "reintegrated", "closed_on": "2026-11-01"},
            headers=if_match,
        ),
        await cases.post(
            "/v1/cases",
            json={"beneficiary_id": beneficiary_id, "assistance_started_on": "2026-09-01"},
            headers=other.headers,
        ),
        await cases.get(f"{c_path}/notes", params=PURPOSE, headers=other.headers),
        await cases.post(
            f"{c_path}/notes", json={"category": "general", "text": "x"}, headers=other.headers
        ),
        await cases.get(f"{c_path}/services", headers=other.headers),
        await cases.get(f"{c_path}/assessments", headers=other.headers),
        await cases.get(f"{b_path}/consents", headers=other.headers),
        await cases.get(f"{b_path}/family-members", headers=other.headers),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    for response in attempts:
        assert given not in response.text
        assert PLANTED_FAMILY not in response.text

    for listing, params in (
        ("/v1/beneficiaries", {}),
        ("/v1/cases", {}),
        ("/v1/cases", {"beneficiary_id": beneficiary_id}),
    ):
        listed = await cases.get(listing, params=params, headers=other.headers)
        assert listed.status_code == 200
        ids = {item["id"] for item in listed.json()["items"]}
        assert ids.isdisjoint({beneficiary_id, case_id})

    search = await cases.post(
        "/v1/beneficiaries/search",
        json={
            "given_names": given,
            "family_names": PLANTED_FAMILY,
            "date_of_birth": PLANTED_BIRTH_DATE,
        },
        headers=other.headers,
    )
    assert search.json() == {
        "possible_duplicates": [],
        "restricted_match": False,
        "known_elsewhere": True,
        "known_at": [],
    }
    # The owner's record is untouched.
    still = await cases.get(f"{b_path}/identity", params=PURPOSE, headers=owner.headers)
    assert still.json()["identity"]["given_names"] == given


@with_and_without_organisation_filter
@pytest.mark.parametrize(
    ("org_kind", "roles"),
    [
        ("donor", ["grant_manager"]),
        ("donor", ["donor_viewer"]),
        ("donor", ["caseworker"]),  # a misconfigured donor client still gets nothing
        ("government", ["referrer"]),
        ("platform", ["platform_admin"]),
    ],
)
async def test_donors_referrers_and_operators_get_no_case_data(
    cases: httpx.AsyncClient, caller: CallerFactory, org_kind: str, roles: list[str]
) -> None:
    owner = caller("ngo", ["caseworker"])
    beneficiary_id, case_id = await _records_of(cases, owner, f"Besa{uuid.uuid4().hex[:6]}")
    outsider = caller(org_kind, roles)
    for path in (
        "/v1/beneficiaries",
        "/v1/cases",
        f"/v1/beneficiaries/{beneficiary_id}",
        f"/v1/cases/{case_id}",
    ):
        response = await cases.get(path, headers=outsider.headers)
        assert response.status_code == 403, (path, response.text)
        assert PLANTED_FAMILY not in response.text
    # Even its own organisation's id on a record would not help: the refusal comes first.
    same_org = caller(org_kind, roles, org_id=owner.org_id)
    response = await cases.get(f"/v1/beneficiaries/{beneficiary_id}", headers=same_org.headers)
    assert response.status_code == 403


async def test_row_level_security_is_forced_and_the_runtime_role_cannot_bypass_it(
    runtime: asyncpg.Connection,
) -> None:
    # Every table keyed by organisation, but for those that hold no one's record.
    rows = await runtime.fetch(
        "SELECT c.relname FROM pg_class c "
        "JOIN information_schema.columns i ON i.table_name = c.relname "
        "AND i.table_schema = 'public' AND i.column_name = 'organisation_id' "
        "WHERE c.relkind = 'r' AND c.relname <> ALL($1::text[])",
        list(NOT_TENANT_TABLES),
    )
    keyed = {row["relname"] for row in rows}
    assert set(TENANT_TABLES) <= keyed
    await assert_row_level_security_forced(runtime, sorted(keyed))


async def test_without_the_application_filter_row_level_security_still_refuses(
    cases: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    owner = caller("ngo", ["caseworker"])
    beneficiary_id, case_id = await _records_of(cases, owner, f"Drita{uuid.uuid4().hex[:6]}")
    intruder = uuid.uuid4()

    # Bound to another organisation, with no organisation filter in the SQL.
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(intruder))
        assert await runtime.fetchval("SELECT count(*) FROM beneficiary") == 0
        assert (
            await runtime.fetchval(
                "SELECT count(*) FROM beneficiary_identity WHERE beneficiary_id = $1",
                uuid.UUID(beneficiary_id),
            )
            == 0
        )
        updated = await runtime.execute(
            "UPDATE case_file SET risk_level = 'low' WHERE id = $1", uuid.UUID(case_id)
        )
        assert updated == "UPDATE 0"
        deleted = await runtime.execute(
            "DELETE FROM beneficiary_key WHERE beneficiary_id = $1", uuid.UUID(beneficiary_id)
        )
        assert deleted == "DELETE 0"

    # Writing a row for an organisation other than the bound one is refused: moving one
    # of the owner's records out of its organisation, or planting one in it.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await as_tenant(
            runtime,
            owner.org_id,
            "UPDATE beneficiary SET organisation_id = $1 WHERE id = $2",
            intruder,
            uuid.UUID(beneficiary_id),
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await as_tenant(
            runtime,
            intruder,
            "INSERT INTO beneficiary (id, organisation_id, sex, is_child, "
            "countries_of_origin, countries_of_exploitation, languages, version, "
            "created_at, updated_at) VALUES ($1, $2, 'female', false, '{}', '{}', '{}', 1, "
            "now(), now())",
            uuid.uuid4(),
            owner.org_id,
        )

    # Bound to the owner, the same SQL sees the records, in every table.
    async with runtime.transaction():
        await runtime.execute("SELECT set_config('baton.org_id', $1, true)", str(owner.org_id))
        for table in TENANT_TABLES:
            assert await runtime.fetchval(f"SELECT count(*) FROM {table}") > 0, table
        assert (
            await runtime.fetchval(
                "SELECT count(*) FROM case_file WHERE id = $1", uuid.UUID(case_id)
            )
            == 1
        )


async def test_the_organisation_does_not_outlive_its_transaction(
    cases: httpx.AsyncClient, caller: CallerFactory, runtime: asyncpg.Connection
) -> None:
    owner = caller("ngo", ["caseworker"])
    await _records_of(cases, owner, f"Vjosa{uuid.uuid4().hex[:6]}")
    await assert_organisation_ends_with_its_transaction(runtime, owner.org_id, TENANT_TABLES)


@pytest.fixture
async def without_row_level_security(
    cases_settings: CasesSettings, postgres_admin_url: str
) -> AsyncIterator[dict[bool, httpx.AsyncClient]]:
    """cases-api as the superuser, whom row-level security never holds back; keyed by
    `test_row_level_security_alone`: the application's filter alone, or no wall at all."""
    url = urlsplit(postgres_admin_url)._replace(scheme="postgresql+asyncpg", path="/cases")
    dumped = cases_settings.model_dump()
    async with AsyncExitStack() as stack:
        clients: dict[bool, httpx.AsyncClient] = {}
        for alone in (False, True):
            settings = CasesSettings.model_validate(
                dumped
                | {"database_url": SecretStr(url.geturl()), "test_row_level_security_alone": alone}
            )
            clients[alone] = await stack.enter_async_context(app_client(create_app(settings)))
        yield clients


async def test_the_application_filter_holds_alone_and_the_switch_removes_it(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    without_row_level_security: dict[bool, httpx.AsyncClient],
) -> None:
    owner = caller("ngo", ["caseworker"])
    beneficiary_id, case_id = await _records_of(cases, owner, f"Mira{uuid.uuid4().hex[:6]}")
    other = caller("ngo", ["caseworker"])

    async def seen_by_other(client: httpx.AsyncClient) -> list[object]:
        case = await client.get(f"/v1/cases/{case_id}", headers=other.headers)
        beneficiary = await client.get(f"/v1/beneficiaries/{beneficiary_id}", headers=other.headers)
        listed = await client.get(
            "/v1/cases", params={"beneficiary_id": beneficiary_id}, headers=other.headers
        )
        return [
            case.status_code,
            beneficiary.status_code,
            case_id in {item["id"] for item in listed.json()["items"]},
        ]

    # No row-level security: the application's filter is the only wall, and holds.
    assert await seen_by_other(without_row_level_security[False]) == [404, 404, False]
    # Switched off as well, nothing is left: so the switched-off runs above prove
    # that row-level security, not a filter the switch forgot, refused the stranger.
    assert await seen_by_other(without_row_level_security[True]) == [200, 200, True]
