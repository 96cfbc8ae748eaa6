"""What grants-api's routes ask FastAPI for besides their caller and session, named once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from baton.http import ServiceClient
from baton.pagination import PageParams, page_params
from grants_api.config import GrantsSettings


async def _settings(request: Request) -> GrantsSettings:
    settings: GrantsSettings = request.app.state.settings
    return settings


async def _statistics(request: Request) -> ServiceClient | None:
    client: ServiceClient | None = request.app.state.cases_statistics
    return client


# A list's cursor page (`cursor`, `limit`).
Params = Annotated[PageParams, Depends(page_params)]
Settings = Annotated[GrantsSettings, Depends(_settings)]
# cases-api's statistics, read with the service's own client; None when not configured.
Statistics = Annotated[ServiceClient | None, Depends(_statistics)]
