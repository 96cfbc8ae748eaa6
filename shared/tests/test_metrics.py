"""`/metrics` of an app made with the kit, read back with Prometheus's own parser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from baton.app import create_service_app
from baton.authz import public
from baton.stack.databases import ServiceDatabase
from baton.testing import app_client
from kit_probe import KIT_INFO, kit_settings
from observability_probe import (
    KNOWN_THING,
    SEARCH_TERM,
    THING_ROUTE,
    UNKNOWN_THING,
    things_router,
)

STRANGER_PATH = "/v1/nowhere/55501"
LATENCY = "baton_http_request_duration_seconds"

# Included with a prefix of its own: the template must carry the including router's prefix.
parts_router = APIRouter()


@parts_router.get("/{part_id}/parts")
async def read_parts(part_id: int) -> dict[str, int]:
    return {"id": part_id}


outer_router = APIRouter(prefix="/v1/machines", dependencies=[public])
outer_router.include_router(parts_router)


@pytest.fixture
async def client(
    service_databases: dict[str, ServiceDatabase],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = kit_settings(service_databases["cases"].runtime_url)
    app = create_service_app(KIT_INFO, settings, [things_router, outer_router])
    async with app_client(app) as http:
        yield http


def _samples(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        yield from family.samples


async def _scrape(client: httpx.AsyncClient) -> list[Sample]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return list(_samples(response.text))


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


async def test_latency_is_counted_by_route_template_never_by_raw_path(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        assert (await client.get(f"/v1/things/{KNOWN_THING}")).status_code == 200
    assert (await client.get(f"/v1/things/{UNKNOWN_THING}")).status_code == 404
    assert (await client.get("/v1/things/not-a-number")).status_code == 422
    assert (await client.get(STRANGER_PATH)).status_code == 404
    found = await client.get(f"/v1/things/{KNOWN_THING}", params={"q": SEARCH_TERM})
    assert found.status_code == 200

    samples = await _scrape(client)
    ok = {"method": "GET", "route": THING_ROUTE, "status": "200"}
    assert _value(samples, f"{LATENCY}_count", **ok) >= 4
    assert _value(samples, f"{LATENCY}_bucket", **ok, le="+Inf") >= 4
    assert _value(samples, f"{LATENCY}_sum", **ok) > 0
    assert _value(samples, "baton_http_requests_total", **ok) >= 4
    # A 404 and a 422 of the route, and a path no route matched, under their statuses.
    assert _value(samples, f"{LATENCY}_count", route=THING_ROUTE, status="404") == 1
    assert _value(samples, f"{LATENCY}_count", route=THING_ROUTE, status="422") == 1
    assert _value(samples, "baton_http_requests_total", route="unmatched", status="404") == 1

    labels = " ".join(value for sample in samples for value in sample.labels.values())
    for raw in (str(KNOWN_THING), str(UNKNOWN_THING), "not-a-number", "55501", SEARCH_TERM):
        assert raw not in labels


async def test_a_route_of_a_nested_router_keeps_every_prefix(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/machines/12/parts")).status_code == 200
    samples = await _scrape(client)
    assert _value(samples, "baton_http_requests_total", route="/v1/machines/{part_id}/parts") == 1


async def test_the_database_pool_is_shown_at_scrape_time(client: httpx.AsyncClient) -> None:
    assert (await client.get("/readyz")).status_code == 200
    samples = await _scrape(client)
    assert _value(samples, "baton_db_pool_size") == 10  # the settings' default
    assert _value(samples, "baton_db_pool_checked_out") == 0  # the readiness check gave it back
    assert _value(samples, "baton_db_pool_idle") >= 1
    assert _value(samples, "baton_db_pool_overflow") == 0


async def test_metrics_are_not_part_of_the_api_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths
    assert THING_ROUTE in paths


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_each_app_counts_in_a_registry_of_its_own(
    client: httpx.AsyncClient, service_databases: dict[str, ServiceDatabase]
) -> None:
    assert (await client.get(f"/v1/things/{KNOWN_THING}")).status_code == 200
    settings = kit_settings(service_databases["cases"].runtime_url)
    other = create_service_app(KIT_INFO, settings, [things_router])
    async with app_client(other) as other_client:
        samples = await _scrape(other_client)
    assert not [s for s in samples if s.labels.get("route") == THING_ROUTE]
    assert [s for s in await _scrape(client) if s.labels.get("route") == THING_ROUTE]
