"""The provider directory: entries kept by their organisation, read by every referrer.

Filters and cursor pages, who may write what (403 `not-your-directory-entry` for
a visible entry of another organisation), If-Match, and a capacity check that
answers counts and names only and takes no free text.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from directory_factories import (
    PLANTED_ADDRESS,
    PROVIDERS,
    Caller,
    CallerFactory,
    new_provider,
    new_service,
    provider_body,
    provider_with_room,
    report_capacity,
    unique_language,
    unique_region,
)
from referral_api.directory import service as directory_service

CAPACITY = f"{PROVIDERS}/capacity"


async def _all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(PROVIDERS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


async def _listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    return [ident for page in await _all_pages(client, headers, params) for ident in page]


async def test_a_case_manager_creates_their_own_organisations_entry_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    created = await referrals.post(PROVIDERS, json=provider_body(), headers=manager.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["etag"] == '"1"'
    assert (body["organisation_id"], body["services"], body["active"]) == (
        str(manager.org_id),
        [],
        True,
    )
    assert body["languages"] == ["en", "sq"]

    again = await referrals.post(PROVIDERS, json=provider_body(), headers=manager.headers)
    assert (again.status_code, again.json()["code"]) == (409, "provider-exists")

    stranger_org = str(uuid.uuid4())
    foreign = await referrals.post(
        PROVIDERS,
        json=provider_body(organisation_id=stranger_org),
        headers=caller("ngo", ["case_manager"]).headers,
    )
    assert (foreign.status_code, foreign.json()["code"]) == (403, "not-your-directory-entry")
    worker = caller("ngo", ["caseworker"])
    by_worker = await referrals.post(PROVIDERS, json=provider_body(), headers=worker.headers)
    assert (by_worker.status_code, by_worker.json()["code"]) == (403, "forbidden")


async def test_two_first_entries_at_once_make_one_and_a_409(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    manager = caller("ngo", ["case_manager"])
    results = await asyncio.gather(
        *(referrals.post(PROVIDERS, json=provider_body(), headers=manager.headers) for _ in "ab")
    )
    assert sorted(r.status_code for r in results) == [201, 409]


async def test_a_platform_admin_creates_an_entry_for_an_ngo_not_for_the_platform(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    admin = caller("platform", ["platform_admin"])
    ngo = caller("ngo", ["case_manager"])
    created = await new_provider(referrals, admin, organisation_id=str(ngo.org_id))
    assert created["organisation_id"] == str(ngo.org_id)

    unnamed = await referrals.post(PROVIDERS, json=provider_body(), headers=admin.headers)
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "provider-organisation-invalid")
    # The NGO keeps the entry from then on.
    patched = await referrals.patch(
        f"{PROVIDERS}/{created['id']}",
        json={"accepts_referrals": False},
        headers=ngo.with_headers(if_match='"1"'),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["accepts_referrals"] is False


async def test_only_the_keeper_and_the_platform_change_an_entry(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    path = f"{PROVIDERS}/{provider['id']}"
    change = {"description": None, "languages": ["SQ", "it"]}

    other = caller("ngo", ["case_manager"])
    refused = await referrals.patch(path, json=change, headers=other.with_headers(if_match='"1"'))
    assert (refused.status_code, refused.json()["code"]) == (403, "not-your-directory-entry")
    worker = caller("ngo", ["caseworker"], org_id=keeper.org_id)
    by_worker = await referrals.patch(
        path, json=change, headers=worker.with_headers(if_match='"1"')
    )
    assert by_worker.status_code == 403
    missing = await referrals.patch(
        f"{PROVIDERS}/{uuid.uuid4()}", json=change, headers=keeper.with_headers(if_match='"1"')
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "provider-not-found")
    unconditional = await referrals.patch(path, json=change, headers=keeper.headers)
    assert unconditional.status_code == 428
    stale = await referrals.patch(path, json=change, headers=keeper.with_headers(if_match='"7"'))
    assert (stale.status_code, stale.headers["etag"]) == (412, '"1"')

    done = await referrals.patch(path, json=change, headers=keeper.with_headers(if_match='"1"'))
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'
    assert (done.json()["description"], done.json()["languages"]) == (None, ["it", "sq"])
    assert done.json()["name"] == provider["name"]  # left out: kept

    admin = caller("platform", ["platform_admin"])
    by_admin = await referrals.patch(
        path, json={"available_24_7": False}, headers=admin.with_headers(if_match='"2"')
    )
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["available_24_7"] is False
    # A change to what is already there is no new version: the ETag stays valid.
    for _ in range(2):
        same = await referrals.patch(
            path,
            json={"available_24_7": False, "languages": ["it", "sq"]},
            headers=keeper.with_headers(if_match='"3"'),
        )
        assert (same.status_code, same.headers["etag"]) == (200, '"3"')


async def test_two_updates_from_the_same_etag_one_wins_one_gets_412(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    path = f"{PROVIDERS}/{provider['id']}"
    # Hold the row so that both updates have started before either can finish.
    holding = superuser.transaction()
    await holding.start()
    await superuser.execute(
        "SELECT 1 FROM provider WHERE id = $1 FOR UPDATE", uuid.UUID(provider["id"])
    )
    updates = [
        asyncio.create_task(
            referrals.patch(path, json={"name": name}, headers=keeper.with_headers(if_match='"1"'))
        )
        for name in ("Tjeter Vizion", "Vatra")
    ]
    await asyncio.sleep(0.3)
    assert not any(update.done() for update in updates)
    await holding.rollback()
    results = await asyncio.gather(*updates)
    assert sorted(r.status_code for r in results) == [200, 412]


async def test_regions_lie_in_the_providers_country(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    keeper = caller("ngo", ["case_manager"])
    abroad = await referrals.post(
        PROVIDERS, json=provider_body(regions_served=["MK-01"]), headers=keeper.headers
    )
    assert (abroad.status_code, abroad.json()["code"]) == (422, "region-outside-country")
    provider = await new_provider(referrals, keeper)
    moved = await referrals.patch(
        f"{PROVIDERS}/{provider['id']}",
        json={"country": "MK"},
        headers=keeper.with_headers(if_match='"1"'),
    )
    assert (moved.status_code, moved.json()["code"]) == (422, "region-outside-country")


async def test_services_are_kept_by_the_provider_and_the_platform(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    services = f"{PROVIDERS}/{provider['id']}/services"
    offered = await new_service(referrals, keeper, provider["id"])
    assert offered["target_groups"] == ["girls", "women"]
    path = f"{services}/{offered['id']}"

    other = caller("ngo", ["case_manager"])
    worker = caller("ngo", ["caseworker"], org_id=keeper.org_id)
    for stranger, code in ((other, "not-your-directory-entry"), (worker, "forbidden")):
        added = await referrals.post(
            services, json={"service_type": "legal"} | _groups(), headers=stranger.headers
        )
        changed = await referrals.patch(
            path, json={"eligibility": None}, headers=stranger.with_headers(if_match='"1"')
        )
        removed = await referrals.delete(path, headers=stranger.headers)
        assert [r.status_code for r in (added, changed, removed)] == [403] * 3
        assert {r.json()["code"] for r in (added, changed, removed)} == {code}

    elsewhere = await new_provider(referrals, other)
    wrong_parent = await referrals.get(
        f"{PROVIDERS}/{elsewhere['id']}/services/{offered['id']}", headers=keeper.headers
    )
    assert (wrong_parent.status_code, wrong_parent.json()["code"]) == (
        404,
        "provider-service-not-found",
    )

    changed = await referrals.patch(
        path,
        json={"eligibility": None, "target_groups": ["boys"]},
        headers=keeper.with_headers(if_match='"1"'),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["eligibility"], changed.json()["target_groups"]) == (None, ["boys"])
    assert changed.json()["service_type"] == "accommodation"
    assert changed.headers["etag"] == '"2"'
    again = await referrals.patch(
        path, json={"target_groups": ["boys"]}, headers=keeper.with_headers(if_match='"2"')
    )
    assert (again.status_code, again.headers["etag"]) == (200, '"2"')
    stale = await referrals.delete(path, headers=keeper.with_headers(if_match='"1"'))
    assert stale.status_code == 412
    assert (await referrals.delete(path, headers=keeper.headers)).status_code == 204
    assert (await referrals.get(path, headers=keeper.headers)).status_code == 404

    admin = caller("platform", ["platform_admin"])
    onboarded = await referrals.post(
        services, json={"service_type": "legal"} | _groups(), headers=admin.headers
    )
    assert onboarded.status_code == 201, onboarded.text


def _groups() -> dict[str, list[str]]:
    return {"target_groups": ["women"], "exploitation_forms": ["labour"]}


async def test_an_entry_holds_a_bounded_number_of_services(
    referrals: httpx.AsyncClient, caller: CallerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory_service, "MAX_SERVICES", 2)
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    for _ in range(2):
        await new_service(referrals, keeper, provider["id"])
    third = await referrals.post(
        f"{PROVIDERS}/{provider['id']}/services",
        json={"service_type": "legal"} | _groups(),
        headers=keeper.headers,
    )
    assert (third.status_code, third.json()["code"]) == (409, "too-many-services")


async def test_capacity_is_reported_by_the_providers_own_staff_only(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    offered = await new_service(referrals, keeper, provider["id"])
    ids = (provider["id"], offered["id"])

    admin = caller("platform", ["platform_admin"])
    other = caller("ngo", ["case_manager"])
    for stranger in (admin, other):
        refused = await report_capacity(referrals, stranger, *ids, total=10, free=4)
        assert (refused.status_code, refused.json()["code"]) == (403, "not-your-directory-entry")
    too_many = await report_capacity(referrals, keeper, *ids, total=3, free=4)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "validation-failed")
    premature = await report_capacity(referrals, keeper, *ids, total=10, free=4, etag='"1"')
    assert premature.status_code == 412

    first = await report_capacity(referrals, keeper, *ids, total=10, free=4)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == '"1"'
    assert (first.json()["places_free"], first.json()["updated_by"]) == (4, keeper.subject)
    unconditional = await report_capacity(referrals, keeper, *ids, total=10, free=3)
    assert unconditional.status_code == 428
    colleague = caller("ngo", ["case_manager"], org_id=keeper.org_id)
    second = await report_capacity(referrals, colleague, *ids, total=10, free=3, etag='"1"')
    assert second.status_code == 200, second.text
    assert (second.headers["etag"], second.json()["updated_by"]) == ('"2"', colleague.subject)
    lost = await report_capacity(referrals, keeper, *ids, total=10, free=2, etag='"1"')
    assert lost.status_code == 412

    # Who reported is the provider's business; everyone sees the figures.
    referrer = caller("government", ["referrer"])
    seen = (await referrals.get(f"{PROVIDERS}/{provider['id']}", headers=referrer.headers)).json()
    own = (await referrals.get(f"{PROVIDERS}/{provider['id']}", headers=keeper.headers)).json()
    assert seen["services"][0]["capacity"]["places_free"] == 3
    assert seen["services"][0]["capacity"]["updated_by"] is None
    assert own["services"][0]["capacity"]["updated_by"] == colleague.subject


async def test_two_first_capacity_reports_at_once_make_one_and_a_428(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    offered = await new_service(referrals, keeper, provider["id"])
    holding = superuser.transaction()
    await holding.start()
    await superuser.execute(
        "SELECT 1 FROM provider_service WHERE id = $1 FOR UPDATE", uuid.UUID(offered["id"])
    )
    reports = [
        asyncio.create_task(
            report_capacity(referrals, keeper, provider["id"], offered["id"], total=9, free=free)
        )
        for free in (5, 6)
    ]
    await asyncio.sleep(0.3)
    assert not any(report.done() for report in reports)
    await holding.rollback()
    results = await asyncio.gather(*reports)
    # The second found the first's figures: replacing them needs their ETag.
    assert sorted(r.status_code for r in results) == [200, 428]


async def test_the_capacity_check_names_who_has_room_and_nothing_more(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    region, language = unique_region(), unique_language()
    place: dict[str, Any] = {"regions_served": [region], "languages": [language]}

    def keeper() -> Caller:
        return caller("ngo", ["case_manager"])

    roomy, roomy_service = await provider_with_room(referrals, keeper(), free=3, **place)
    # Serving the whole country counts for every region of it.
    national, national_service = await provider_with_room(
        referrals, keeper(), free=1, regions_served=[], languages=[language]
    )
    await provider_with_room(referrals, keeper(), free=0, **place)
    await provider_with_room(
        referrals, keeper(), free=5, service={"target_groups": ["men"]}, **place
    )
    await provider_with_room(
        referrals, keeper(), free=5, service={"exploitation_forms": ["labour"]}, **place
    )
    await provider_with_room(referrals, keeper(), free=4, accepts_referrals=False, **place)
    await provider_with_room(
        referrals, keeper(), free=4, regions_served=[unique_region()], languages=[language]
    )
    quiet = keeper()
    unreported = await new_provider(referrals, quiet, **place)
    await new_service(referrals, quiet, unreported["id"])  # capacity never reported

    referrer = caller("government", ["referrer"])
    query = {
        "service_type": "accommodation",
        "target_group": "women",
        "exploitation_form": "sexual",
        "country": "AL",
        "region": region,
        "language": language,
    }
    answer = await referrals.get(CAPACITY, params=query, headers=referrer.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["truncated"] is False
    items = answer.json()["items"]
    assert [(item["provider_id"], item["service_id"], item["places_free"]) for item in items] == [
        (roomy["id"], roomy_service["id"], 3),
        (national["id"], national_service["id"], 1),
    ]
    assert {key for item in items for key in item} == {
        "provider_id",
        "provider_name",
        "service_id",
        "places_free",
        "updated_at",
    }
    night = await referrals.get(
        CAPACITY, params={**query, "available_24_7": "false"}, headers=referrer.headers
    )
    assert night.json()["items"] == []


async def test_the_capacity_check_takes_no_free_text(
    referrals: httpx.AsyncClient, caller: CallerFactory, referral_app: FastAPI
) -> None:
    referrer = caller("government", ["referrer"])
    smuggled = await referrals.get(
        CAPACITY,
        params={"service_type": "accommodation", "name": PLANTED_ADDRESS},
        headers=referrer.headers,
    )
    assert (smuggled.status_code, smuggled.json()["code"]) == (422, "unknown-parameter")
    assert PLANTED_ADDRESS not in smuggled.text
    for name in ("region", "language", "country"):
        bad = await referrals.get(
            CAPACITY,
            params={"service_type": "accommodation", name: PLANTED_ADDRESS},
            headers=referrer.headers,
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "validation-failed"), name
        assert "Durresit" not in bad.text
    assert (await referrals.get(CAPACITY, headers=referrer.headers)).status_code == 422

    # Every parameter is a vocabulary value, a flag or a code with a pattern.
    spec = referral_app.openapi()
    parameters = spec["paths"]["/v1/providers/capacity"]["get"]["parameters"]
    assert {parameter["name"] for parameter in parameters} == {
        "service_type",
        "target_group",
        "exploitation_form",
        "country",
        "region",
        "language",
        "available_24_7",
    }
    for parameter in parameters:
        choices = parameter["schema"].get("anyOf", [parameter["schema"]])
        for schema in choices:
            if "$ref" in schema:
                schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
            assert (
                "enum" in schema or "pattern" in schema or schema["type"] in ("boolean", "null")
            ), parameter["name"]


async def test_lists_match_one_service_and_page_with_cursors(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    region, language = unique_region("MK"), unique_language()
    place: dict[str, Any] = {"country": "MK", "regions_served": [region], "languages": [language]}

    def keeper() -> Caller:
        return caller("ngo", ["case_manager"])

    both = keeper()
    mixed = await new_provider(referrals, both, available_24_7=False, **place)
    await new_service(referrals, both, mixed["id"], target_groups=["women"])
    await new_service(referrals, both, mixed["id"], service_type="legal", target_groups=["men"])
    men = keeper()
    for_men = await new_provider(referrals, men, available_24_7=False, **place)
    await new_service(
        referrals, men, for_men["id"], target_groups=["men"], exploitation_forms=["begging"]
    )
    night = await new_provider(referrals, keeper(), available_24_7=True, **place)
    closed_keeper = keeper()
    closed = await new_provider(referrals, closed_keeper, available_24_7=False, **place)
    await new_service(referrals, closed_keeper, closed["id"], target_groups=["men"])
    closing = await referrals.patch(
        f"{PROVIDERS}/{closed['id']}",
        json={"active": False},
        headers=closed_keeper.with_headers(if_match='"1"'),
    )
    assert closing.status_code == 200, closing.text
    elsewhere = await new_provider(
        referrals,
        keeper(),
        country="MK",
        regions_served=[unique_region("MK")],
        languages=[language],
        available_24_7=False,
    )

    reader = caller("government", ["referrer"]).headers
    pages = await _all_pages(referrals, reader, {"language": language, "limit": 1})
    assert pages == [[mixed["id"]], [for_men["id"]], [night["id"]], [elsewhere["id"]]]
    assert await _listed(referrals, reader, region=region, language=language) == [
        mixed["id"],
        for_men["id"],
        night["id"],
    ]
    # Type and target group must hold for the same service: `mixed` houses women only.
    housing_men = await _listed(
        referrals, reader, service_type="accommodation", target_group="men", language=language
    )
    assert housing_men == [for_men["id"]]
    begging = await _listed(referrals, reader, exploitation_form="begging", language=language)
    assert begging == [for_men["id"]]
    assert await _listed(referrals, reader, available_24_7=True, language=language) == [night["id"]]
    assert await _listed(referrals, reader, active=False, language=language) == [closed["id"]]
    assert await _listed(referrals, reader, country="AL", language=language) == []


async def test_every_directory_reader_reads_and_donors_are_refused(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    keeper = caller("ngo", ["case_manager"])
    provider = await new_provider(referrals, keeper)
    offered = await new_service(referrals, keeper, provider["id"])
    reads = (
        PROVIDERS,
        f"{PROVIDERS}/{provider['id']}",
        f"{PROVIDERS}/{provider['id']}/services/{offered['id']}",
        f"{CAPACITY}?service_type=accommodation",
    )
    readers = (
        caller("government", ["referrer"]),
        caller("ngo", ["caseworker"]),
        caller("ngo", ["case_manager"]),
        caller("platform", ["platform_admin"]),
    )
    for reader in readers:
        for path in reads:
            response = await referrals.get(path, headers=reader.headers)
            assert response.status_code == 200, (reader.roles, path, response.text)
    one = await referrals.get(f"{PROVIDERS}/{provider['id']}", headers=readers[0].headers)
    assert one.headers["etag"] == '"1"'

    refusals = (
        (caller("donor", ["donor_viewer"]), "organisation-kind-refused"),
        (caller("donor", ["grant_manager"]), "organisation-kind-refused"),
        (caller("ngo", ["auditor"]), "forbidden"),
    )
    for refused, code in refusals:
        for path in reads:
            response = await referrals.get(path, headers=refused.headers)
            assert (response.status_code, response.json()["code"]) == (403, code), path
    referrer = readers[0]
    writing = await referrals.post(PROVIDERS, json=provider_body(), headers=referrer.headers)
    assert (writing.status_code, writing.json()["code"]) == (403, "forbidden")


async def test_entries_take_no_address_and_problems_echo_nothing(
    referrals: httpx.AsyncClient, caller: CallerFactory, referral_app: FastAPI
) -> None:
    keeper = caller("ngo", ["case_manager"])
    invalid: list[dict[str, Any]] = [
        provider_body(address=PLANTED_ADDRESS),
        provider_body(regions_served=[PLANTED_ADDRESS]),
        provider_body(languages=[PLANTED_ADDRESS]),
        provider_body(intake_phone=PLANTED_ADDRESS),
        provider_body(intake_email=PLANTED_ADDRESS),
        provider_body(country=PLANTED_ADDRESS),
    ]
    for body in invalid:
        response = await referrals.post(PROVIDERS, json=body, headers=keeper.headers)
        assert (response.status_code, response.json()["code"]) == (422, "validation-failed")
        assert "Durresit" not in response.text

    schemas = referral_app.openapi()["components"]["schemas"]
    for name in ("ProviderCreate", "ProviderUpdate", "ProviderRead", "ServiceRead"):
        fields = set(schemas[name]["properties"])
        assert not {f for f in fields if "address" in f or "location" in f}, name
