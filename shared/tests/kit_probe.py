"""A small app built with the kit, for the kit's own tests."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from baton.app import ServiceInfo
from baton.authz import public
from baton.db import SessionDep
from baton.errors import Conflict
from baton.migrations import MigrationTree
from baton.settings import ServiceSettings

PLANTED_VALUE = "Ardita-Kovaci-1990-planted"

KIT_INFO = ServiceInfo(
    name="kit-probe",
    title="Kit probe",
    version="0.0.0",
    description="An app made with baton's factory, for baton's own tests.",
    migrations=MigrationTree("cases_api"),
)


class Person(BaseModel):
    name: str = Field(min_length=1)
    birth_year: int = Field(ge=1900, le=2100)


probe_router = APIRouter(prefix="/v1", dependencies=[public])


@probe_router.post("/people", status_code=201)
async def create_person(person: Person) -> Person:
    return person


@probe_router.post("/conflicts")
async def make_conflict() -> None:
    raise Conflict("The record changed since you read it.")


@probe_router.get("/database-sleep")
async def database_sleep(session: SessionDep, seconds: float = 0.0) -> dict[str, bool]:
    await session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
    return {"slept": True}


@probe_router.get("/cacheable")
async def cacheable(response: Response) -> dict[str, str]:
    response.headers["Cache-Control"] = "public, max-age=60"
    return {"shared": "with anyone"}


@probe_router.get("/crash")
async def crash() -> None:
    raise RuntimeError(f"database said: duplicate key {PLANTED_VALUE}")


def kit_settings(database_url: str, **overrides: object) -> ServiceSettings:
    return ServiceSettings.model_validate({"database_url": database_url, **overrides})
