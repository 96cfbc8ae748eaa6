"""Liveness and readiness: `/healthz` says the process runs, `/readyz` that it can serve."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from baton.authz import public
from baton.db import Database, get_database
from baton.errors import BatonError, problem_responses
from baton.migrations import VERSION_TABLE

logger = logging.getLogger("baton.health")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str
    version: str


class Readiness(Health):
    database: Literal["reachable"] = "reachable"
    migrations: Literal["at-head"] = "at-head"


class DatabaseUnreachable(BatonError):
    code = "database-unreachable"
    status = 503
    title = "Database unreachable"


class MigrationsPending(BatonError):
    code = "migrations-pending"
    status = 503
    title = "Database schema is not at the expected revision"


RETRY_AFTER = {"Retry-After": "5"}

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", response_model=Health, dependencies=[public])
async def report_liveness(request: Request) -> Health:
    """The process is up and serving HTTP. Says nothing about its dependencies."""
    return Health(service=request.app.state.service_name, version=request.app.version)


@health_router.get(
    "/readyz",
    response_model=Readiness,
    dependencies=[public],
    responses=problem_responses(DatabaseUnreachable, MigrationsPending),
)
async def report_readiness(
    request: Request, database: Annotated[Database, Depends(get_database)]
) -> Readiness:
    """The database answers and its schema is at the revision this code expects."""
    timeout: float = request.app.state.settings.readiness_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            applied = await database.applied_revisions(VERSION_TABLE)
    except Exception as exc:
        logger.warning("database unreachable", extra={"error_type": type(exc).__qualname__})
        raise DatabaseUnreachable(
            "The service cannot reach its database.", headers=RETRY_AFTER
        ) from exc
    expected: set[str] = request.app.state.migration_heads
    if applied != expected:
        raise MigrationsPending(
            f"Database is at {sorted(applied) or 'no revision'}, code expects {sorted(expected)}.",
            headers=RETRY_AFTER,
        )
    return Readiness(service=request.app.state.service_name, version=request.app.version)
