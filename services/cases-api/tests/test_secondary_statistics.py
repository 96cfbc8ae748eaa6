"""Statistics of family members assisted: counted like persons, suppressed like persons."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baton.db import Database
from baton.stack.programme import NGOS
from cases_api.config import CasesSettings
from cases_api.demo.load import load_programme
from cases_api.main import open_vault
from cases_api.statistics.schemas import SecondaryDimension
from cases_factories import Caller, CallerFactory, new_beneficiary, new_case
from family_factories import PLANTED_CHILD_NAME, new_family_member

PATH = "/v1/statistics/secondary-beneficiaries"
YEAR_2026 = {"period_start": "2026-01-01", "period_end": "2026-12-31"}
PROGRAMME = {"period_start": "2007-01-01", "period_end": "2014-12-31"}
CHILD = {"relationship": "child", "sex": "female", "age_group": "child"}
PARENT = {"relationship": "parent", "sex": "male", "age_group": "adult"}
SIBLING = {"relationship": "sibling", "sex": "female", "age_group": "adult"}
PARTNER = {"relationship": "partner", "sex": "male", "age_group": "adult"}


@dataclass(frozen=True)
class Organisation:
    worker: Caller
    manager: Caller
    planted: list[str]  # ids of members, beneficiaries and cases: never in a table


async def _assisted(
    cases: httpx.AsyncClient,
    org: Organisation,
    members: int,
    attributes: dict[str, str],
    **case: Any,
) -> str:
    """A beneficiary with one case and `members` family members (names recorded): the case."""
    beneficiary = await new_beneficiary(cases, org.worker)
    opened = (await new_case(cases, org.worker, beneficiary["id"], **case)).json()
    org.planted.extend([beneficiary["id"], opened["id"]])
    for _ in range(members):
        member = await new_family_member(cases, org.worker, beneficiary["id"], **attributes)
        org.planted.append(member["id"])
    return str(opened["id"])


@pytest.fixture
async def assisted(cases: httpx.AsyncClient, caller: CallerFactory) -> Organisation:
    """An NGO of its own: 13 family members counted in 2026, 3 whose case closed in 2025."""
    worker = caller("ngo", ["caseworker"])
    org = Organisation(worker, caller("ngo", ["case_manager"], org_id=worker.org_id), [])
    await _assisted(cases, org, 6, CHILD)
    await _assisted(cases, org, 5, PARENT, assistance_started_on="2025-03-01")  # still open
    await _assisted(cases, org, 2, SIBLING)
    closed = await _assisted(cases, org, 3, PARTNER, assistance_started_on="2025-01-01")
    closure = await cases.post(
        f"/v1/cases/{closed}/closure",
        json={"outcome": "reintegrated", "closed_on": "2025-06-01"},
        headers=org.manager.with_headers(if_match='"1"'),
    )
    assert closure.status_code == 200, closure.text
    return org


async def _get(
    cases: httpx.AsyncClient,
    reader: Caller,
    dimensions: list[str],
    organisations: list[Caller] | None = None,
    period: dict[str, str] = YEAR_2026,
) -> httpx.Response:
    params: list[tuple[str, str | int | float | bool | None]] = [
        *(("dimension", d) for d in dimensions),
        *(("organisation_id", str(org.org_id)) for org in organisations or []),
        *period.items(),
    ]
    return await cases.get(PATH, params=params, headers=reader.headers)


async def _table(
    cases: httpx.AsyncClient,
    reader: Caller,
    dimensions: list[str],
    organisations: list[Caller] | None = None,
    period: dict[str, str] = YEAR_2026,
) -> dict[str, Any]:
    response = await _get(cases, reader, dimensions, organisations, period)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _counts(table: dict[str, Any]) -> dict[str, int | None]:
    return {next(iter(c["values"].values())): c["count"] for c in table["cells"]}


def _assert_safe(table: dict[str, Any]) -> None:
    """No published value from 1 to threshold - 1; every hidden cell says why."""
    published = [c["count"] for c in table["cells"] if c["count"] is not None]
    published += [m["count"] for m in table["margins"] if m["count"] is not None]
    published += [v for v in (table["total"], table["persons"]) if v is not None]
    assert all(v == 0 or v >= table["threshold"] for v in published)
    for cell in table["cells"]:
        assert (cell["count"] is None) == (cell["suppressed"] is not None)


async def test_family_members_are_counted_over_fixed_categories(
    cases: httpx.AsyncClient, assisted: Organisation
) -> None:
    manager = assisted.manager
    by_sex = await _table(cases, manager, ["sex"])
    assert by_sex["unit"] == "secondary_beneficiaries"
    assert by_sex["organisation_ids"] == [str(manager.org_id)]
    assert by_sex["multi_valued"] == []
    # The partners' case closed before the period: they are not counted.
    assert _counts(by_sex) == {"female": 8, "male": 5, "other": 0, "unknown": 0}
    assert (by_sex["total"], by_sex["persons"]) == (13, 13)
    assert _counts(await _table(cases, manager, ["age_group"])) == {"child": 6, "adult": 7}
    # A case still open counts, under the year it started (the persons' table too).
    assert _counts(await _table(cases, manager, ["year"])) == {"2025": 5, "2026": 8}
    persons = await cases.get(
        "/v1/statistics", params={"dimension": "year", **YEAR_2026}, headers=manager.headers
    )
    assert persons.status_code == 200, persons.text
    assert persons.json()["unit"] == "persons"
    assert list(_counts(persons.json())) == ["2025", "2026"]
    by_both = await _table(cases, manager, ["sex", "age_group"])
    assert by_both["dimensions"] == ["sex", "age_group"]
    assert len(by_both["cells"]) == 4 * 2
    _assert_safe(by_both)
    earlier = await _table(cases, manager, ["relationship"], period=PROGRAMME)
    assert (earlier["total"], earlier["persons"]) == (0, 0)


async def test_small_cells_are_suppressed_never_shown_as_zero(
    cases: httpx.AsyncClient, assisted: Organisation
) -> None:
    table = await _table(cases, assisted.manager, ["relationship"])
    cells = {c["values"]["relationship"]: (c["count"], c["suppressed"]) for c in table["cells"]}
    assert cells == {
        "child": (6, None),
        "parent": (None, "complementary"),  # else 13 - 6 - 5 gives the siblings away
        "sibling": (None, "primary"),
        "partner": (0, None),  # the partners' case closed in 2025: a true zero
        "other_relative": (0, None),
        "other": (0, None),
    }
    assert (table["total"], table["suppressed_cells"], table["threshold"]) == (13, 2, 5)
    for first, second in itertools.permutations([d.value for d in SecondaryDimension], 2):
        _assert_safe(await _table(cases, assisted.manager, [first, second]))


async def test_no_identity_of_a_family_member_is_in_a_table(
    cases: httpx.AsyncClient, assisted: Organisation
) -> None:
    for dimension in SecondaryDimension:
        response = await _get(cases, assisted.manager, [dimension.value])
        assert response.status_code == 200
        for value in (PLANTED_CHILD_NAME, "Zhupaniqi", "2015-03-02", *assisted.planted):
            assert value not in response.text


async def test_organisations_are_read_by_the_same_rules_as_persons(
    cases: httpx.AsyncClient, caller: CallerFactory, assisted: Organisation
) -> None:
    other = caller("ngo", ["case_manager"])
    other_worker = caller("ngo", ["caseworker"], org_id=other.org_id)
    await _assisted(cases, Organisation(other_worker, other, []), 5, CHILD)
    assert (await _get(cases, assisted.manager, ["sex"], [other])).status_code == 403
    worker = assisted.worker
    assert (await _get(cases, worker, ["sex"])).status_code == 403
    assert (await _get(cases, caller("donor", ["donor_viewer"]), ["sex"])).status_code == 403

    grants = caller("platform", [], scope="cases:stats")
    both = await _table(cases, grants, ["relationship"], [assisted.manager, other])
    assert both["organisation_ids"] == sorted(str(c.org_id) for c in (assisted.manager, other))
    assert _counts(both)["child"] == 6 + 5
    assert both["total"] == 13 + 5
    assert (await _get(cases, grants, ["relationship"])).status_code == 403  # name them


@pytest.mark.parametrize(
    "dimensions",
    [["sex", "sex"], ["sex", "age_group", "year"], ["nationality"], ["given_names"], []],
)
async def test_only_fixed_questions_are_answered(
    cases: httpx.AsyncClient, caller: CallerFactory, dimensions: list[str]
) -> None:
    manager = caller("ngo", ["case_manager"])
    assert (await _get(cases, manager, dimensions)).status_code == 422
    backwards = {"period_start": "2026-12-31", "period_end": "2026-01-01"}
    assert (await _get(cases, manager, ["sex"], period=backwards)).status_code == 422


async def test_the_demo_programme_counts_its_family_members(
    cases: httpx.AsyncClient, caller: CallerFactory, cases_settings: CasesSettings
) -> None:
    database = Database(cases_settings, application_name="cases-tests-demo")
    try:  # loaded once per database, as test_statistics loads it
        await load_programme(database.sessionmaker, open_vault(cases_settings))
    finally:
        await database.dispose()
    platform = caller("platform", ["platform_admin"])
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("dimension", "age_group"),
        *(("organisation_id", str(ngo.id)) for ngo in NGOS),
        *PROGRAMME.items(),
    ]
    response = await cases.get(PATH, params=params, headers=platform.headers)
    assert response.status_code == 200, response.text
    table = response.json()
    assert 1_100 <= table["persons"] <= 1_179  # domain.md: 1,179 family members assisted
    assert table["total"] == table["persons"]
    assert 0.50 <= _counts(table)["child"] / table["total"] <= 0.60
