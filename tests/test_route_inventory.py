"""Inventory: the gateway's routes, the services' OpenAPI documents, the routes their
FastAPI apps serve and the authorization matrix's rows are one and the same set.

Everything is built in-process: each app from its factory (its lifespan never runs,
so nothing connects anywhere) and the gateway from the rendered template, whose
routes are matched here as Envoy matches them (first match wins). A route added
without a matrix row or outside OpenAPI, a matrix row naming nothing, or a gateway
route leading anywhere but a service's documented paths fails, naming the difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from baton.authz import api_routes, route_access
from baton.settings import ServiceSettings
from baton.stack.gateway import GatewayLayout, Upstream, container_layout, render
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import REPOSITORY_ROOT
from cases_api.config import CasesSettings
from cases_api.main import create_app as cases_app
from grants_api.config import GrantsSettings
from grants_api.main import create_app as grants_app
from identity_api.config import IdentitySettings
from identity_api.main import create_app as identity_app
from matrix_rows import ENDPOINTS, PUBLIC
from referral_api.config import ReferralSettings
from referral_api.main import create_app as referral_app

Operation = tuple[str, str]  # (method, path)
AppFactory = Callable[[ServiceSettings], FastAPI]

FACTORIES: dict[str, tuple[AppFactory, type[ServiceSettings]]] = {
    "identity": (identity_app, IdentitySettings),
    "cases": (cases_app, CasesSettings),
    "referrals": (referral_app, ReferralSettings),
    "grants": (grants_app, GrantsSettings),
}
# FastAPI's own pages: the document itself and the pages that render it.
DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# Outside OpenAPI on purpose: the scraper's, on the service's own port; the gateway
# refuses it (a direct 404 ahead of the service's prefix).
METRICS = "/metrics"
# Only these parts of an Envoy route are understood below; anything else (a regex, a
# header matcher, a redirect) fails the inventory rather than being misread.
KNOWN_ROUTE_KEYS = frozenset({"match", "route", "direct_response", "typed_per_filter_config"})
KNOWN_ACTION_KEYS = frozenset({"cluster", "prefix_rewrite", "timeout"})


@dataclass(frozen=True)
class Landing:
    """Where the gateway sends a public path: a service's path, or its own answer."""

    route_index: int
    service: str | None = None
    path: str | None = None
    status: int | None = None


def _differences(
    left_name: str, left: set[Operation], right_name: str, right: set[Operation]
) -> str:
    def listed(operations: Iterable[Operation]) -> str:
        return ", ".join(f"{method} {path}" for method, path in sorted(operations)) or "-"

    return (
        f"only in {left_name}: {listed(left - right)}; only in {right_name}: {listed(right - left)}"
    )


def _build(spec: ServiceSpec) -> FastAPI:
    factory, settings = FACTORIES[spec.route]
    # Never connected: routes and the OpenAPI document exist before the lifespan runs.
    url = f"postgresql+asyncpg://inventory@127.0.0.1:1/{spec.route}"
    return factory(settings.model_validate({"database_url": url}))


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    assert set(FACTORIES) == {spec.route for spec in SERVICES}, "inventory every service"
    return {spec.route: _build(spec) for spec in SERVICES}


def _documented(app: FastAPI) -> set[Operation]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def _served(app: FastAPI) -> set[Operation]:
    served: set[Operation] = set()
    for context in iter_route_contexts(app.routes):
        methods = context.methods or {"*"}
        if "GET" in methods:
            # Starlette adds HEAD beside GET on plain routes: the same route.
            methods = methods - {"HEAD"}
        served |= {(method, str(context.path)) for method in methods}
    return served


def _public(app: FastAPI) -> set[Operation]:
    return {
        (method, str(context.path))
        for context in api_routes(app)
        if route_access(context) == "public"
        for method in context.methods or ()
    }


def _published(apps: dict[str, FastAPI]) -> set[Operation]:
    return {
        (method, f"/{route}{path}")
        for route, app in apps.items()
        for method, path in _documented(app)
    }


def test_each_app_serves_exactly_its_documented_routes(apps: dict[str, FastAPI]) -> None:
    for route, app in apps.items():
        outside_openapi = {("GET", path) for path in DOCS} | {("GET", METRICS)}
        assert outside_openapi <= _served(app), route
        served = _served(app) - outside_openapi
        documented = _documented(app)
        assert served == documented, f"{route}: " + _differences(
            "the app's routes", served, "its OpenAPI document", documented
        )


def test_every_documented_route_has_a_matrix_row_and_every_row_a_route(
    apps: dict[str, FastAPI],
) -> None:
    rows = [endpoint.key for endpoint in ENDPOINTS]
    assert len(rows) == len(set(rows)), (
        f"rows listed twice: {sorted(r for r in set(rows) if rows.count(r) > 1)}"
    )
    assert not PUBLIC & set(rows), "public routes (anyone may call them) are not matrix rows"
    covered = set(rows) | PUBLIC
    published = _published(apps)
    assert covered == published, _differences(
        "the matrix (rows and PUBLIC)", covered, "the OpenAPI documents", published
    )


def test_the_routes_open_without_a_token_are_exactly_the_known_public_ones(
    apps: dict[str, FastAPI],
) -> None:
    declared = {
        (method, f"/{route}{path}") for route, app in apps.items() for method, path in _public(app)
    }
    expected = set(PUBLIC) | {("GET", f"/{route}{METRICS}") for route in apps}
    assert declared == expected, _differences(
        "routes declared public", declared, "PUBLIC and the metrics", expected
    )


@pytest.fixture(scope="module")
def layout() -> GatewayLayout:
    return container_layout()


@pytest.fixture(scope="module")
def gateway(layout: GatewayLayout) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(render(REPOSITORY_ROOT, layout))
    return config


def _manager(gateway: dict[str, Any]) -> dict[str, Any]:
    [listener] = gateway["static_resources"]["listeners"]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


def _routes(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    [host] = _manager(gateway)["route_config"]["virtual_hosts"]
    assert host["domains"] == ["*"]
    routes: list[dict[str, Any]] = host["routes"]
    for route in routes:
        assert set(route) <= KNOWN_ROUTE_KEYS, f"a kind of route the inventory cannot read: {route}"
        assert set(route.get("route", {})) <= KNOWN_ACTION_KEYS, f"unknown route action: {route}"
    return routes


def _service_of_cluster(gateway: dict[str, Any], layout: GatewayLayout) -> dict[str, str]:
    by_upstream = {upstream: route for route, upstream in layout.upstreams.items()}
    services: dict[str, str] = {}
    for cluster in gateway["static_resources"]["clusters"]:
        [group] = cluster["load_assignment"]["endpoints"]
        for endpoint in group["lb_endpoints"]:
            address = endpoint["endpoint"]["address"]["socket_address"]
            upstream = Upstream(address["address"], address["port_value"])
            if upstream in by_upstream:
                services[cluster["name"]] = by_upstream[upstream]
    return services


def _matched(match: dict[str, str], path: str) -> str | None:
    """The part of `path` the match consumed, as Envoy reads it; None if no match."""
    [(kind, value)] = match.items()
    if kind == "path":
        return path if path == value else None
    if kind == "prefix":
        return value if path.startswith(value) else None
    if kind == "path_separated_prefix":
        return value if path == value or path.startswith(f"{value}/") else None
    raise AssertionError(f"a kind of match the inventory cannot read: {match}")


def _land(routes: list[dict[str, Any]], services: dict[str, str], path: str) -> Landing | None:
    for index, route in enumerate(routes):
        consumed = _matched(route["match"], path)
        if consumed is None:
            continue
        if "direct_response" in route:
            return Landing(index, status=route["direct_response"]["status"])
        action = route["route"]
        upstream = action.get("prefix_rewrite", consumed) + path[len(consumed) :]
        return Landing(index, service=services.get(action["cluster"]), path=upstream)
    return None


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_the_gateway_routes_every_documented_path_and_nothing_else(
    apps: dict[str, FastAPI], gateway: dict[str, Any], layout: GatewayLayout
) -> None:
    routes = _routes(gateway)
    services = _service_of_cluster(gateway, layout)
    used: set[int] = set()
    unreachable: list[str] = []
    for route, app in apps.items():
        reachable = {path for _, path in _documented(app)} | DOCS
        for path in sorted(reachable):
            public = f"/{route}{_concrete(path)}"
            landing = _land(routes, services, public)
            if landing is None or (landing.service, landing.path) != (route, _concrete(path)):
                unreachable.append(f"{public} -> {landing}")
            else:
                used.add(landing.route_index)
        for metrics in (METRICS, f"{METRICS}/anything"):
            refused = _land(routes, services, f"/{route}{metrics}")
            assert refused is not None, f"/{route}{metrics} matches no route"
            assert refused.status == 404, f"/{route}{metrics} is routed"
            used.add(refused.route_index)
    assert unreachable == [], "documented paths the gateway does not route to their service"
    unused = [routes[index]["match"] for index in range(len(routes)) if index not in used]
    assert unused == [], "gateway routes that belong to no service's documented path"
    # A prefix route hands over everything under it: only a service's own prefix may.
    for entry in routes:
        if "prefix" in entry["match"]:
            service = services.get(entry["route"]["cluster"])
            assert entry["match"]["prefix"] == f"/{service}/", entry
            assert entry["route"]["prefix_rewrite"] == "/", entry
    for stray in ("/", "/metrics", "/admin", "/stats", "/unknown/v1/me", "/cases"):
        assert _land(routes, services, stray) is None, f"{stray} is routed"


def test_the_gateways_public_paths_are_served_and_known(
    apps: dict[str, FastAPI], gateway: dict[str, Any], layout: GatewayLayout
) -> None:
    """The token filter's open paths exist, and are the matrix's PUBLIC plus the docs."""
    [jwt] = [f for f in _manager(gateway)["http_filters"] if f["name"].endswith("jwt_authn")]
    open_paths = {
        rule["match"]["path"] for rule in jwt["typed_config"]["rules"] if "path" in rule["match"]
    }
    routes, services = _routes(gateway), _service_of_cluster(gateway, layout)
    for path in sorted(open_paths):
        landing = _land(routes, services, path)
        assert landing is not None, f"{path} matches no route"
        assert landing.service is not None, f"{path} leads to no service"
        served = {served_path for _, served_path in _served(apps[landing.service])}
        assert landing.path in served, f"{path} is open but {landing.service} serves no such path"
    docs = {f"/{route}{path}" for route in apps for path in DOCS - {"/redoc"}}
    assert open_paths - docs == {path for _, path in PUBLIC}
