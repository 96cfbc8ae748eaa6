"""Permissions: one table, roles only count in their kind of organisation, no route undeclared."""

from __future__ import annotations

import importlib
import uuid

import pytest
from fastapi import APIRouter, FastAPI

from baton.app import create_service_app
from baton.auth import OrgKind, Principal
from baton.authz import (
    Authorize,
    Permission,
    api_routes,
    permissions_of,
    route_access,
    routes_without_access,
)
from baton.stack.databases import ServiceDatabase
from baton.stack.services import SERVICES, ServiceSpec
from kit_probe import KIT_INFO, kit_settings


def _principal(kind: OrgKind, roles: set[str], scopes: frozenset[str] = frozenset()) -> Principal:
    return Principal(
        subject="s",
        org_id=uuid.uuid4(),
        org_kind=kind,
        roles=frozenset(roles),
        scopes=scopes,
        issuer="i",
        expires_at=0,
    )


def test_case_manager_holds_all_of_caseworker_and_more() -> None:
    worker = permissions_of(_principal(OrgKind.ngo, {"caseworker"}))
    manager = permissions_of(_principal(OrgKind.ngo, {"case_manager"}))
    assert worker < manager
    assert {Permission.case_close, Permission.referral_decide} <= manager - worker


def test_a_role_outside_its_kind_of_organisation_grants_nothing() -> None:
    assert permissions_of(_principal(OrgKind.donor, {"caseworker", "case_manager"})) == frozenset()
    assert permissions_of(_principal(OrgKind.ngo, {"platform_admin"})) == frozenset()
    assert permissions_of(_principal(OrgKind.government, {"grant_manager"})) == frozenset()


def test_no_donor_role_can_read_identities_or_cases() -> None:
    donor = permissions_of(_principal(OrgKind.donor, {"grant_manager", "donor_viewer", "auditor"}))
    assert not donor & {
        Permission.case_read,
        Permission.case_read_identity,
        Permission.referral_read,
    }


def test_platform_and_auditors_never_read_identities() -> None:
    for kind in OrgKind:
        granted = permissions_of(_principal(kind, {"platform_admin", "auditor"}))
        assert Permission.case_read_identity not in granted


def test_unknown_roles_and_scopes_are_ignored() -> None:
    principal = _principal(OrgKind.ngo, {"root"}, frozenset({"cases:all", "cases:intake"}))
    assert permissions_of(principal) == {Permission.case_intake}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
def test_every_route_of_every_service_declares_its_access(
    spec: ServiceSpec, service_databases: dict[str, ServiceDatabase]
) -> None:
    main = importlib.import_module(f"{spec.module}.main")
    config = importlib.import_module(f"{spec.module}.config")
    settings_class = next(
        value
        for name, value in vars(config).items()
        if name.endswith("Settings") and name != "ServiceSettings"
    )
    settings = settings_class.model_validate(
        {"database_url": service_databases[spec.route].runtime_url}
    )
    app: FastAPI = main.create_app(settings)
    assert routes_without_access(app) == []
    # The walk reached the endpoints themselves (health at least), not only wrappers.
    paths = {context.path for context in api_routes(app)}
    assert {"/healthz", "/readyz"} <= paths


def test_an_endpoint_that_forgets_its_permission_stops_the_service() -> None:
    forgetful = APIRouter()

    @forgetful.get("/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    guarded = APIRouter()

    @guarded.get("/v1/guarded")
    async def guarded_route(_: Principal = Authorize(Permission.case_read)) -> dict[str, str]:
        return {}

    settings = kit_settings("postgresql+asyncpg://u:p@127.0.0.1:1/none")
    with pytest.raises(RuntimeError, match="/v1/forgotten"):
        create_service_app(KIT_INFO, settings, [guarded, forgetful])
    assert create_service_app(KIT_INFO, settings, [guarded]) is not None


def test_a_permission_declared_on_include_router_counts() -> None:
    router = APIRouter()

    @router.get("/v1/things")
    async def things() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router, prefix="/outer", dependencies=[Authorize(Permission.grant_read)])
    [context] = api_routes(app)
    assert context.path == "/outer/v1/things"
    assert route_access(context) == Permission.grant_read


def test_routes_nested_two_routers_deep_are_checked() -> None:
    inner = APIRouter()

    @inner.post("/v1/deep")
    async def deep() -> dict[str, str]:
        return {}

    outer = APIRouter()
    outer.include_router(inner, prefix="/inner")
    app = FastAPI()
    app.include_router(outer, prefix="/outer")
    assert routes_without_access(app) == ["['POST'] /outer/inner/v1/deep"]
