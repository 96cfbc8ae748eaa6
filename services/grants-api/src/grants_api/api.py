"""Every router of grants-api, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from grants_api.finances.router import router as finances_router
from grants_api.funding.router import router as funding_router
from grants_api.grants.router import router as grants_router
from grants_api.programmes.router import router as programmes_router
from grants_api.reporting.router import router as reporting_router
from grants_api.reports.router import router as reports_router

ROUTERS: tuple[APIRouter, ...] = (
    programmes_router,
    grants_router,
    finances_router,
    reporting_router,
    funding_router,
    reports_router,
)
