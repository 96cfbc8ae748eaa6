"""`GET /v1/me` on every service: the verified caller as this service sees it.

Integrators use it to check a token against a service (audience, organisation,
roles) and frontends to decide what to offer; it returns ids, never personal data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel

from baton.auth import Principal
from baton.authz import Authorize, Permission, permissions_of


class Profile(BaseModel):
    service: str
    subject: str
    org_id: str
    org_kind: str
    roles: list[str]
    scopes: list[str]
    permissions: list[str]


profile_router = APIRouter(tags=["profile"])


@profile_router.get("/v1/me", response_model=Profile)
async def read_profile(
    request: Request, principal: Annotated[Principal, Authorize(Permission.profile_read)]
) -> Profile:
    """Who the token says you are here, and what this gives you permission to do."""
    return Profile(
        service=request.app.state.service_name,
        subject=principal.subject,
        org_id=str(principal.org_id),
        org_kind=principal.org_kind.value,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        permissions=sorted(permissions_of(principal)),
    )
