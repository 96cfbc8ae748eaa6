"""Every router of cases-api, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from cases_api.access.router import router as access_router
from cases_api.assessments.router import router as assessments_router
from cases_api.audit.router import router as audit_router
from cases_api.beneficiaries.router import router as beneficiaries_router
from cases_api.cases.router import router as cases_router
from cases_api.consents.router import router as consents_router
from cases_api.intake.router import router as intake_router
from cases_api.notes.router import router as notes_router
from cases_api.plans.router import router as plans_router
from cases_api.secondary.router import router as secondary_router
from cases_api.statistics.router import router as statistics_router

ROUTERS: tuple[APIRouter, ...] = (
    beneficiaries_router,
    secondary_router,
    consents_router,
    cases_router,
    access_router,
    plans_router,
    assessments_router,
    notes_router,
    intake_router,
    statistics_router,
    audit_router,
)
