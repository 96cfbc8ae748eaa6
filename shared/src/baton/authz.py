"""What a caller may do: one table from roles (and service scopes) to permissions.

Every endpoint declares one permission with `Authorize(Permission.x)` (or is
marked `public`); `assert_every_route_declares_access` runs when an app starts,
so an endpoint that forgets fails closed: its service does not start.
Object access is checked against the caller's organisation as well (`same_org`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from baton.auth import OrgKind, Principal, PrincipalDep
from baton.errors import BatonError


class Permission(StrEnum):
    profile_read = "profile:read"
    organisation_read = "organisation:read"
    organisation_manage = "organisation:manage"
    client_manage = "client:manage"
    case_read = "case:read"
    case_write = "case:write"
    case_read_identity = "case:read_identity"
    case_assign = "case:assign"
    case_close = "case:close"
    case_erase = "case:erase"
    case_intake = "case:intake"
    # Restricted cases: mark one restricted, open emergency access to one, review that access.
    case_restrict = "case:restrict"
    case_break_glass = "case:break_glass"
    case_break_glass_review = "case:break_glass_review"
    stats_read = "stats:read"
    referral_submit = "referral:submit"
    referral_read = "referral:read"
    referral_decide = "referral:decide"
    referral_work = "referral:work"
    directory_read = "directory:read"
    directory_manage = "directory:manage"
    webhook_manage = "webhook:manage"
    grant_read = "grant:read"
    grant_manage = "grant:manage"
    grant_report_submit = "grant_report:submit"
    grant_report_review = "grant_report:review"
    audit_read = "audit:read"


class Role(StrEnum):
    caseworker = "caseworker"
    case_manager = "case_manager"
    referrer = "referrer"
    grant_manager = "grant_manager"
    donor_viewer = "donor_viewer"
    auditor = "auditor"
    platform_admin = "platform_admin"


_CASEWORKER = frozenset(
    {
        Permission.profile_read,
        Permission.organisation_read,
        Permission.case_read,
        Permission.case_write,
        Permission.case_read_identity,
        Permission.referral_read,
        # Acknowledge, ask for information, start, hold, complete: the daily handling.
        Permission.referral_work,
        Permission.directory_read,
    }
)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.caseworker: _CASEWORKER,
    Role.case_manager: _CASEWORKER
    | {
        Permission.case_assign,
        Permission.case_close,
        Permission.case_erase,
        Permission.case_restrict,
        Permission.case_break_glass,
        Permission.case_break_glass_review,
        Permission.stats_read,
        # Accept, reject, forward; refer onward; keep the organisation's directory entry.
        Permission.referral_decide,
        Permission.referral_submit,
        Permission.directory_manage,
        Permission.webhook_manage,
        Permission.grant_report_submit,
        Permission.grant_read,
    },
    Role.referrer: frozenset(
        {
            Permission.profile_read,
            Permission.organisation_read,
            Permission.referral_submit,
            Permission.referral_read,
            Permission.directory_read,
            Permission.webhook_manage,
        }
    ),
    Role.grant_manager: frozenset(
        {
            Permission.profile_read,
            Permission.organisation_read,
            Permission.grant_read,
            Permission.grant_manage,
            Permission.grant_report_review,
            Permission.stats_read,
        }
    ),
    Role.donor_viewer: frozenset(
        {
            Permission.profile_read,
            Permission.organisation_read,
            Permission.grant_read,
            Permission.stats_read,
        }
    ),
    Role.auditor: frozenset(
        {
            Permission.profile_read,
            Permission.organisation_read,
            Permission.audit_read,
            # Who opened emergency access to which case, and until when; never the text.
            Permission.case_break_glass_review,
        }
    ),
    Role.platform_admin: frozenset(
        {
            Permission.profile_read,
            Permission.organisation_read,
            Permission.organisation_manage,
            Permission.client_manage,
            Permission.audit_read,
            # Suppressed aggregates only; never a record or an identity.
            Permission.stats_read,
            Permission.directory_read,
            Permission.directory_manage,
        }
    ),
}

# A role counts only in the kinds of organisation it belongs to: a misconfigured
# donor client holding `caseworker` still gets no case access.
ROLE_ORG_KINDS: Mapping[Role, frozenset[OrgKind]] = {
    Role.caseworker: frozenset({OrgKind.ngo}),
    Role.case_manager: frozenset({OrgKind.ngo}),
    Role.referrer: frozenset({OrgKind.government}),
    Role.grant_manager: frozenset({OrgKind.donor}),
    Role.donor_viewer: frozenset({OrgKind.donor}),
    Role.auditor: frozenset(OrgKind),
    Role.platform_admin: frozenset({OrgKind.platform}),
}

# Narrow scopes for service clients (Baton's own services, partner integrations).
SCOPE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "cases:intake": frozenset({Permission.case_intake}),
    "cases:stats": frozenset({Permission.stats_read}),
}


# Kinds of organisation whose tokens may reach victim data at all (cases, referrals):
# the gateway's RBAC and the services themselves both enforce it.
VICTIM_DATA_ORG_KINDS = frozenset({OrgKind.ngo, OrgKind.government, OrgKind.platform})

# The audiences tokens may be issued for: one per service.
AUDIENCES = frozenset({"identity-api", "cases-api", "referral-api", "grants-api"})


def permissions_of(principal: Principal) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for name in principal.roles:
        try:
            role = Role(name)
        except ValueError:
            continue
        if principal.org_kind in ROLE_ORG_KINDS[role]:
            granted |= ROLE_PERMISSIONS[role]
    for scope in principal.scopes:
        granted |= SCOPE_PERMISSIONS.get(scope, frozenset())
    return frozenset(granted)


class Forbidden(BatonError):
    code = "forbidden"
    status = 403
    title = "Not permitted"


def Authorize(permission: Permission) -> Any:
    """Dependency: the verified caller, who must hold `permission` (403 otherwise)."""

    async def authorize(principal: PrincipalDep) -> Principal:
        if permission not in permissions_of(principal):
            raise Forbidden(f"This requires the `{permission}` permission.")
        return principal

    authorize.__baton_permission__ = permission  # type: ignore[attr-defined]
    return Depends(authorize)


async def _public() -> None:
    return None


_public.__baton_public__ = True  # type: ignore[attr-defined]
# Route decorator argument for the deliberate exceptions: `dependencies=[public]`.
public = Depends(_public)


def same_org(principal: Principal, org_id: uuid.UUID) -> bool:
    """Whether a record of `org_id` is the caller's own."""
    return principal.org_id == org_id


def _declarations(dependant: Dependant) -> Iterable[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _declarations(dependency)


def _declared_access(dependant: Dependant) -> Permission | str | None:
    for call in _declarations(dependant):
        permission = getattr(call, "__baton_permission__", None)
        if permission is not None:
            return Permission(permission)
        if getattr(call, "__baton_public__", False):
            return "public"
    return None


def route_access(route: APIRoute | RouteContext) -> Permission | str | None:
    """The permission a route declares, "public", or None if it declares nothing.

    A `RouteContext` carries the dependencies its `include_router` added too.
    """
    dependant = route.dependant
    return None if dependant is None else _declared_access(dependant)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every FastAPI endpoint of `app`, nested `include_router` calls included.

    FastAPI (>= 0.165) keeps included routers as wrappers in `app.routes`, so a
    plain walk over `app.routes` would see no endpoint at all and check nothing.
    """
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def routes_without_access(app: FastAPI) -> list[str]:
    return [
        f"{sorted(context.methods or ())} {context.path}"
        for context in api_routes(app)
        if route_access(context) is None
    ]


def assert_every_route_declares_access(app: FastAPI) -> None:
    missing = routes_without_access(app)
    if missing:
        raise RuntimeError(f"routes without a declared permission (fail closed): {missing}")
