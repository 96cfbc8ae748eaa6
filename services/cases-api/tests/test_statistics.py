"""Statistics on the demo programme: its proportions, and no small cell ever published."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from baton.db import Database
from baton.stack.programme import NGOS
from cases_api.config import CasesSettings
from cases_api.demo.load import load_programme
from cases_api.main import open_vault
from cases_api.statistics.schemas import Dimension
from cases_factories import CallerFactory

PROGRAMME = {"period_start": "2007-01-01", "period_end": "2014-12-31"}
ALL_NGOS = [("organisation_id", str(ngo.id)) for ngo in NGOS]


@pytest.fixture
async def programme(cases_settings: CasesSettings) -> None:
    """The demo programme in the test database (loaded once; later calls add nothing)."""
    database = Database(cases_settings, application_name="cases-tests-demo")
    try:
        await load_programme(database.sessionmaker, open_vault(cases_settings))
    finally:
        await database.dispose()


async def _table(
    cases: httpx.AsyncClient,
    headers: dict[str, str],
    dimensions: list[str],
    organisations: list[tuple[str, str]] = ALL_NGOS,
    **period: str,
) -> dict[str, Any]:
    params: list[tuple[str, str | int | float | bool | None]] = [
        *(("dimension", d) for d in dimensions),
        *organisations,
    ]
    params += list({**PROGRAMME, **period}.items())
    response = await cases.get("/v1/statistics", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _share(table: dict[str, Any], value: str) -> float:
    cell = next(c for c in table["cells"] if next(iter(c["values"].values())) == value)
    return float(cell["count"]) / float(table["total"])


@pytest.mark.usefixtures("programme")
async def test_the_demo_programme_has_the_programmes_proportions(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    platform = caller("platform", ["platform_admin"]).headers
    by_sex = await _table(cases, platform, ["sex"])
    assert 1_650 <= by_sex["persons"] <= 1_750
    assert by_sex["total"] == by_sex["persons"]
    assert 0.80 <= _share(by_sex, "female") <= 0.86
    assert 0.35 <= _share(await _table(cases, platform, ["age_group"]), "child") <= 0.41
    assert 0.56 <= _share(await _table(cases, platform, ["outcome"]), "reintegrated") <= 0.64


@pytest.mark.usefixtures("programme")
async def test_no_published_cell_or_margin_is_between_one_and_the_threshold(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    platform = caller("platform", ["platform_admin"]).headers
    small_partner = [("organisation_id", str(NGOS[-1].id))]
    suppressed = 0
    for first, second in itertools.combinations(list(Dimension), 2):
        for organisations in (ALL_NGOS, small_partner):
            table = await _table(cases, platform, [first, second], organisations)
            threshold = table["threshold"]
            published = [c["count"] for c in table["cells"] if c["count"] is not None]
            published += [m["count"] for m in table["margins"] if m["count"] is not None]
            published += [v for v in (table["total"], table["persons"]) if v is not None]
            assert all(v == 0 or v >= threshold for v in published), (first, second)
            for cell in table["cells"]:
                assert (cell["count"] is None) == (cell["suppressed"] is not None)
            suppressed += table["suppressed_cells"]
    assert suppressed > 0  # the partner's own tables do have small cells to hide


@pytest.mark.usefixtures("programme")
async def test_a_person_counts_once_even_with_several_forms_of_exploitation(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    platform = caller("platform", ["platform_admin"]).headers
    table = await _table(cases, platform, ["exploitation_form"])
    assert table["multi_valued"] == ["exploitation_form"]
    assert table["total"] > table["persons"]


@pytest.mark.usefixtures("programme")
async def test_ngo_managers_read_their_own_organisation_only(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    own, other = NGOS[0].id, NGOS[1].id
    manager = caller("ngo", ["case_manager"], org_id=own)
    table = await _table(cases, manager.headers, ["sex"], [])
    assert table["organisation_ids"] == [str(own)]
    refused = await cases.get(
        "/v1/statistics",
        params=[("dimension", "sex"), ("organisation_id", str(other)), *PROGRAMME.items()],
        headers=manager.headers,
    )
    assert refused.status_code == 403
    worker = caller("ngo", ["caseworker"], org_id=own)
    assert (
        await cases.get(
            "/v1/statistics",
            params=[("dimension", "sex"), *PROGRAMME.items()],
            headers=worker.headers,
        )
    ).status_code == 403


@pytest.mark.parametrize(
    ("org_kind", "roles", "scope", "status"),
    [
        ("platform", [], "cases:stats", 200),  # grants-api's service client
        ("donor", ["donor_viewer"], None, 403),  # donors only ever get them through grants-api
        ("donor", ["grant_manager"], "cases:stats", 403),
        ("government", ["referrer"], None, 403),
    ],
)
async def test_who_reads_statistics_across_organisations(
    cases: httpx.AsyncClient,
    caller: CallerFactory,
    org_kind: str,
    roles: list[str],
    scope: str | None,
    status: int,
) -> None:
    reader = caller(org_kind, roles, scope=scope)
    response = await cases.get(
        "/v1/statistics",
        params=[("dimension", "outcome"), *ALL_NGOS, *PROGRAMME.items()],
        headers=reader.headers,
    )
    assert response.status_code == status, response.text
    if status == 200:
        unnamed = await cases.get(
            "/v1/statistics",
            params=[("dimension", "outcome"), *PROGRAMME.items()],
            headers=reader.headers,
        )
        assert unnamed.status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        [("dimension", "sex"), ("dimension", "sex")],
        [("dimension", "sex"), ("dimension", "phase"), ("dimension", "year")],
        [("dimension", "given_names")],
        [],
    ],
)
async def test_only_fixed_questions_are_answered(
    cases: httpx.AsyncClient, caller: CallerFactory, params: list[tuple[str, str]]
) -> None:
    platform = caller("platform", ["platform_admin"]).headers
    response = await cases.get(
        "/v1/statistics", params=[*params, *ALL_NGOS, *PROGRAMME.items()], headers=platform
    )
    assert response.status_code == 422
    backwards = await cases.get(
        "/v1/statistics",
        params=[
            ("dimension", "sex"),
            *ALL_NGOS,
            ("period_start", "2014-01-01"),
            ("period_end", "2007-01-01"),
        ],
        headers=platform,
    )
    assert backwards.status_code == 422


@pytest.mark.usefixtures("programme")
async def test_erasure_leaves_the_statistics_unchanged(
    cases: httpx.AsyncClient, caller: CallerFactory
) -> None:
    ngo = NGOS[2]
    organisation = [("organisation_id", str(ngo.id))]
    platform = caller("platform", ["platform_admin"]).headers
    manager = caller("ngo", ["case_manager"], org_id=ngo.id)
    before = [await _table(cases, platform, [d.value], organisation) for d in Dimension]
    listed = await cases.get("/v1/beneficiaries", params={"limit": 3}, headers=manager.headers)
    erased = 0
    for item in listed.json()["items"]:
        if item["erased_at"] is None:
            response = await cases.delete(
                f"/v1/beneficiaries/{item['id']}/identity", headers=manager.headers
            )
            assert response.status_code == 204
            gone = await cases.get(
                f"/v1/beneficiaries/{item['id']}/identity",
                params={"purpose": "case_management"},
                headers=manager.headers,
            )
            assert gone.status_code == 410
            erased += 1
    after = [await _table(cases, platform, [d.value], organisation) for d in Dimension]
    assert after == before
    assert erased > 0  # the partner had identities to erase
